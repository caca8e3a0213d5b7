-- Languages done properly (issue 22). A person's language may be any the catalogue speaks: the CHECKs name the
-- languages in one place each, and Marathi joins English and Hindi.
ALTER TABLE patients DROP CONSTRAINT patients_language_check,
    ADD CONSTRAINT patients_language_check CHECK (language IN ('en', 'hi', 'mr'));
ALTER TABLE consents DROP CONSTRAINT consents_language_check,
    ADD CONSTRAINT consents_language_check CHECK (language IN ('en', 'hi', 'mr'));
ALTER TABLE consults DROP CONSTRAINT consults_language_check,
    ADD CONSTRAINT consults_language_check CHECK (language IN ('en', 'hi', 'mr'));

-- The lab's own names (tests, packages, analytes, centres) in each language but English, as {"hi": …, "mr": …}:
-- the lab's data, kept with it and edited at run time, where the software's messages live in core/locale/. The
-- English stays in `name`; a language without its name here shows the English.
ALTER TABLE test_catalogue ADD COLUMN names jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(names) = 'object');
ALTER TABLE packages ADD COLUMN names jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(names) = 'object');
ALTER TABLE analytes ADD COLUMN names jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(names) = 'object');
ALTER TABLE centres ADD COLUMN names jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(names) = 'object');

UPDATE test_catalogue SET names = jsonb_build_object('hi', name_hi) WHERE name_hi IS NOT NULL;
UPDATE packages SET names = jsonb_build_object('hi', name_hi);
ALTER TABLE test_catalogue DROP COLUMN name_hi;
ALTER TABLE packages DROP COLUMN name_hi;

UPDATE test_catalogue SET names = names || jsonb_build_object('mr', CASE code
    WHEN 'CBC' THEN 'कम्प्लीट ब्लड काउंट (CBC)' WHEN 'LIPID' THEN 'लिपिड प्रोफाइल' WHEN 'FBS' THEN 'उपाशीपोटी ब्लड शुगर'
    WHEN 'HBA1C' THEN 'HbA1c (तीन महिन्यांची सरासरी शुगर)' WHEN 'LFT' THEN 'लिव्हर फंक्शन टेस्ट'
    WHEN 'KFT' THEN 'किडनी फंक्शन टेस्ट' WHEN 'TSH' THEN 'थायरॉईड (TSH)' WHEN 'URINE' THEN 'लघवी तपासणी (यूरिन रूटीन)' END)
WHERE code IN ('CBC', 'LIPID', 'FBS', 'HBA1C', 'LFT', 'KFT', 'TSH', 'URINE');
UPDATE packages SET names = names || jsonb_build_object('mr', CASE code
    WHEN 'PKG-BASIC' THEN 'बेसिक हेल्थ चेक (CBC, शुगर, लघवी)'
    WHEN 'PKG-DIABETES' THEN 'डायबिटीज तपासणी (शुगर, HbA1c, किडनी)'
    WHEN 'PKG-FULL' THEN 'फुल बॉडी चेक (CBC, लिपिड, लिव्हर, किडनी, थायरॉईड, शुगर)' END)
WHERE code IN ('PKG-BASIC', 'PKG-DIABETES', 'PKG-FULL');

UPDATE analytes a SET names = v.names::jsonb FROM (VALUES
    ('718-7',   '{"hi": "हीमोग्लोबिन", "mr": "हिमोग्लोबिन"}'),
    ('6690-2',  '{"hi": "श्वेत रक्त कोशिकाएँ (WBC)", "mr": "पांढऱ्या पेशी (WBC)"}'),
    ('777-3',   '{"hi": "प्लेटलेट्स", "mr": "प्लेटलेट्स"}'),
    ('789-8',   '{"hi": "लाल रक्त कोशिकाएँ (RBC)", "mr": "लाल पेशी (RBC)"}'),
    ('4544-3',  '{"hi": "हीमाटोक्रिट", "mr": "हिमॅटोक्रिट"}'),
    ('2093-3',  '{"hi": "कुल कोलेस्ट्रॉल", "mr": "एकूण कोलेस्टेरॉल"}'),
    ('2085-9',  '{"hi": "HDL कोलेस्ट्रॉल", "mr": "HDL कोलेस्टेरॉल"}'),
    ('13457-7', '{"hi": "LDL कोलेस्ट्रॉल", "mr": "LDL कोलेस्टेरॉल"}'),
    ('2571-8',  '{"hi": "ट्राइग्लिसराइड्स", "mr": "ट्रायग्लिसराइड्स"}'),
    ('1558-6',  '{"hi": "फास्टिंग शुगर", "mr": "उपाशीपोटी शुगर"}'),
    ('4548-4',  '{"hi": "HbA1c", "mr": "HbA1c"}'),
    ('1742-6',  '{"hi": "ALT (SGPT)", "mr": "ALT (SGPT)"}'),
    ('1920-8',  '{"hi": "AST (SGOT)", "mr": "AST (SGOT)"}'),
    ('6768-6',  '{"hi": "एल्कलाइन फॉस्फेटेज़", "mr": "अल्कलाइन फॉस्फेटेज"}'),
    ('1975-2',  '{"hi": "कुल बिलीरुबिन", "mr": "एकूण बिलीरुबिन"}'),
    ('1751-7',  '{"hi": "एल्ब्यूमिन", "mr": "अल्ब्युमिन"}'),
    ('2160-0',  '{"hi": "क्रिएटिनिन", "mr": "क्रिएटिनिन"}'),
    ('3094-0',  '{"hi": "यूरिया नाइट्रोजन (BUN)", "mr": "युरिया नायट्रोजन (BUN)"}'),
    ('3084-1',  '{"hi": "यूरिक एसिड", "mr": "युरिक ॲसिड"}'),
    ('2951-2',  '{"hi": "सोडियम", "mr": "सोडियम"}'),
    ('2823-3',  '{"hi": "पोटैशियम", "mr": "पोटॅशियम"}'),
    ('3016-3',  '{"hi": "TSH", "mr": "TSH"}')
) AS v (code, names) WHERE a.code = v.code;
