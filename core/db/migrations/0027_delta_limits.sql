-- Delta checks: how far an analyte may move from the patient's previous value, in per cent, before the pathologist's
-- approval page marks it (a sample mix-up, or a real change to look at). Starting values; a lab edits them.
ALTER TABLE analytes ADD COLUMN delta_percent numeric CHECK (delta_percent > 0);
UPDATE analytes SET delta_percent = v.pct FROM (VALUES
    ('718-7', 20), ('6690-2', 50), ('777-3', 50), ('789-8', 20), ('4544-3', 20),
    ('2093-3', 30), ('2085-9', 30), ('13457-7', 30), ('2571-8', 50), ('1558-6', 50), ('4548-4', 15),
    ('1742-6', 100), ('1920-8', 100), ('6768-6', 50), ('1975-2', 50), ('1751-7', 20),
    ('2160-0', 50), ('3094-0', 50), ('3084-1', 40), ('2951-2', 5), ('2823-3', 20), ('3016-3', 100)
) AS v(code, pct) WHERE analytes.code = v.code;
