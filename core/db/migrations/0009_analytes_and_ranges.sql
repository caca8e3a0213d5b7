-- What each ordered test measures (LOINC codes), and reference and critical ranges by sex and age band.
CREATE TABLE analytes (
    code       text PRIMARY KEY,           -- LOINC
    test_code  text NOT NULL REFERENCES test_catalogue (code),
    name       text NOT NULL,
    unit       text NOT NULL
);

CREATE TABLE reference_ranges (
    id             bigserial PRIMARY KEY,
    analyte_code   text NOT NULL REFERENCES analytes (code),
    sex            text NOT NULL DEFAULT 'any' CHECK (sex IN ('any', 'female', 'male')),
    age_min_years  integer NOT NULL DEFAULT 0,
    age_max_years  integer NOT NULL DEFAULT 150,   -- exclusive
    low            numeric,
    high           numeric,
    critical_low   numeric,
    critical_high  numeric,
    CHECK (age_min_years < age_max_years)
);
CREATE INDEX reference_ranges_lookup ON reference_ranges (analyte_code);

INSERT INTO analytes (code, test_code, name, unit) VALUES
    ('718-7',   'CBC',   'Haemoglobin',              'g/dL'),
    ('6690-2',  'CBC',   'White cell count',         '10*3/uL'),
    ('777-3',   'CBC',   'Platelets',                '10*3/uL'),
    ('789-8',   'CBC',   'Red cell count',           '10*6/uL'),
    ('4544-3',  'CBC',   'Haematocrit',              '%'),
    ('2093-3',  'LIPID', 'Total cholesterol',        'mg/dL'),
    ('2085-9',  'LIPID', 'HDL cholesterol',          'mg/dL'),
    ('13457-7', 'LIPID', 'LDL cholesterol',          'mg/dL'),
    ('2571-8',  'LIPID', 'Triglycerides',            'mg/dL'),
    ('1558-6',  'FBS',   'Fasting glucose',          'mg/dL'),
    ('4548-4',  'HBA1C', 'HbA1c',                    '%'),
    ('1742-6',  'LFT',   'ALT (SGPT)',               'U/L'),
    ('1920-8',  'LFT',   'AST (SGOT)',               'U/L'),
    ('6768-6',  'LFT',   'Alkaline phosphatase',     'U/L'),
    ('1975-2',  'LFT',   'Total bilirubin',          'mg/dL'),
    ('1751-7',  'LFT',   'Albumin',                  'g/dL'),
    ('2160-0',  'KFT',   'Creatinine',               'mg/dL'),
    ('3094-0',  'KFT',   'Urea nitrogen (BUN)',      'mg/dL'),
    ('3084-1',  'KFT',   'Uric acid',                'mg/dL'),
    ('2951-2',  'KFT',   'Sodium',                   'mmol/L'),
    ('2823-3',  'KFT',   'Potassium',                'mmol/L'),
    ('3016-3',  'TSH',   'TSH',                      'mIU/L');

-- Common adult and paediatric intervals (configurable: a lab edits these rows to match its own methods).
INSERT INTO reference_ranges (analyte_code, sex, age_min_years, age_max_years, low, high, critical_low, critical_high) VALUES
    ('718-7',   'female', 12, 150, 12.0, 15.5, 7.0, 20.0),
    ('718-7',   'male',   12, 150, 13.5, 17.5, 7.0, 20.0),
    ('718-7',   'any',     0,  12, 11.0, 14.5, 7.0, 20.0),
    ('6690-2',  'any',    12, 150,  4.0, 11.0, 2.0, 30.0),
    ('6690-2',  'any',     0,  12,  5.0, 15.0, 2.0, 30.0),
    ('777-3',   'any',     0, 150,  150,  400,  20, 1000),
    ('789-8',   'female',  0, 150,  3.9,  5.2, NULL, NULL),
    ('789-8',   'male',    0, 150,  4.5,  5.9, NULL, NULL),
    ('4544-3',  'female',  0, 150,   36,   46,  20,   60),
    ('4544-3',  'male',    0, 150,   41,   53,  20,   60),
    ('2093-3',  'any',     0, 150, NULL,  200, NULL, NULL),
    ('2085-9',  'female',  0, 150,   50, NULL, NULL, NULL),
    ('2085-9',  'male',    0, 150,   40, NULL, NULL, NULL),
    ('13457-7', 'any',     0, 150, NULL,  100, NULL, NULL),
    ('2571-8',  'any',     0, 150, NULL,  150, NULL, 1000),
    ('1558-6',  'any',     0, 150,   70,   99,   40,  450),
    ('4548-4',  'any',     0, 150, NULL,  5.7, NULL, NULL),
    ('1742-6',  'any',     0, 150,    7,   56, NULL, 1000),
    ('1920-8',  'any',     0, 150,   10,   40, NULL, 1000),
    ('6768-6',  'any',    18, 150,   44,  147, NULL, NULL),
    ('6768-6',  'any',     0,  18,  100,  390, NULL, NULL),
    ('1975-2',  'any',     0, 150,  0.1,  1.2, NULL, 15.0),
    ('1751-7',  'any',     0, 150,  3.5,  5.0, 1.5, NULL),
    ('2160-0',  'female',  0, 150,  0.6,  1.1, NULL, 10.0),
    ('2160-0',  'male',    0, 150,  0.7,  1.3, NULL, 10.0),
    ('3094-0',  'any',     0, 150,    7,   20, NULL, 100),
    ('3084-1',  'female',  0, 150,  2.4,  6.0, NULL, NULL),
    ('3084-1',  'male',    0, 150,  3.4,  7.0, NULL, NULL),
    ('2951-2',  'any',     0, 150,  135,  145,  120,  160),
    ('2823-3',  'any',     0, 150,  3.5,  5.1,  2.5,  6.5),
    ('3016-3',  'any',     0, 150,  0.4,  4.0, NULL, NULL);

ALTER TABLE results ADD COLUMN flag_source text NOT NULL DEFAULT 'analyzer' CHECK (flag_source IN ('analyzer', 'computed', 'none'));
ALTER TABLE results ADD COLUMN critical boolean NOT NULL DEFAULT false;
