"""The pages' words: messages come from the catalogue (core/i18n.py: gettext files under core/locale/, English
and Hindi, written for someone anxious about their results); here are the helpers that put times, days and the
triage rules' reasons into a page's language."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from babel.dates import format_date

from core import i18n
from core.labtime import LAB_TZ

LANGS = i18n.LANGS


def t(lang: str, key: str, **kw: object) -> str:
    """The page message ``key`` in ``lang``, from the catalogue (core/i18n.py, core/locale/)."""
    return i18n.text(lang, key, **kw)


def when(lang: str, at: datetime, now: datetime) -> str:
    """'6:00 pm today', '9:30 am tomorrow', or '22 Nov, 6:00 pm', in the lab's time zone."""
    local, today = at.astimezone(LAB_TZ), now.astimezone(LAB_TZ).date()
    clock = local.strftime("%I:%M %p").lstrip("0").lower()
    if local.date() == today:
        return f"{clock} {t(lang, 'today')}"
    if local.date() == today + timedelta(days=1):
        return f"{clock} {t(lang, 'tomorrow')}"
    return f"{local.day} {local.strftime('%b')}, {clock}"


# The triage rules' reasons (core/triage/rules.py says them in English) and specialties, in Hindi.
REASONS_HI = {
    "heart_attack_signs": "सीने में दर्द के साथ साँस फूलना, पसीना, बेहोशी, या दर्द का बाँह या जबड़े तक जाना",
    "stroke_signs": "स्ट्रोक के लक्षण: चेहरा टेढ़ा होना, एक तरफ़ कमज़ोरी, या बोलने में लड़खड़ाहट",
    "severe_bleeding": "बहुत ज़्यादा खून बहना, खून की उल्टी या खाँसी में खून, या काला मल",
    "anaphylaxis": "गले, होंठ या जीभ में सूजन, या साँस की तकलीफ़ के साथ एलर्जी वाले दाने",
    "suicidal_thoughts": "आत्महत्या या अपनी जान लेने के विचार",
    "meningitis_signs": "बुखार के साथ गर्दन में अकड़न, भ्रम, या दबाने पर न मिटने वाले दाने",
    "collapse_or_seizure": "बेहोशी, होश खोना, दौरा, या भ्रम",
    "young_infant_fever": "3 महीने से छोटे बच्चे को बुखार",
    "sudden_worst_headache": "अचानक, बहुत तेज़ सिरदर्द",
    "low_oxygen": "ऑक्सीजन 92% से कम",
    "severe_breathlessness": "साँस लेने में बहुत ज़्यादा तकलीफ़",
    "diabetic_emergency": "शुगर बहुत ज़्यादा (400 या अधिक) या बहुत कम (70 से कम)",
    "pregnancy_warning": ("गर्भावस्था में: खून आना, पानी निकलना, बच्चे का कम हिलना, तेज़ सिरदर्द, धुंधला दिखना या दौरे"),
    "dengue_warning": "बुखार के साथ मसूड़ों या नाक से खून, पेट में तेज़ दर्द, या बार-बार उल्टी",
    "shock_blood_pressure": "लक्षणों के साथ बहुत कम (ऊपर का 90 से कम) या बहुत ज़्यादा (180/120 या अधिक) बीपी",
    "very_high_fever": "105 F या उससे ज़्यादा बुखार",
    "chest_pain": "सीने में दर्द",
    "breathlessness": "साँस फूलना",
    "fever_3_days": "तीन दिन या उससे ज़्यादा से बुखार",
    "high_fever": "103 F या उससे ज़्यादा बुखार",
    "fever_child_or_elder": "5 साल से छोटे बच्चे या 65 साल से बड़े व्यक्ति को बुखार",
    "fever_with_rash_or_pain": "बुखार के साथ दाने, बदन या जोड़ों में दर्द (डेंगू और चिकनगुनिया का मौसम)",
    "dehydration": "उल्टी या दस्त के साथ पानी की कमी के लक्षण",
    "jaundice": "आँखों या त्वचा का पीला होना",
    "severe_abdominal_pain": "पेट में तेज़ दर्द",
    "pregnancy_symptoms": "गर्भावस्था के दौरान लक्षण",
    "high_blood_pressure": "180/110 या उससे ज़्यादा बीपी",
    "high_sugar": "250 या उससे ज़्यादा शुगर",
    "urine_infection_fever": "बुखार के साथ पेशाब में जलन",
    "palpitations_dizzy": "चक्कर के साथ धड़कन तेज़ होना",
    "infant_unwell": "एक साल से छोटा बच्चा जिसकी तबीयत ठीक नहीं",
    "long_cough": "तीन हफ़्ते या उससे ज़्यादा से खाँसी",
    "diabetes_symptoms": "बहुत प्यास और बार-बार पेशाब",
    "thyroid_symptoms": "थकान, वज़न में बदलाव या बाल झड़ना",
    "urine_symptoms": "पेशाब में जलन",
    "joint_pain": "जोड़ों में दर्द",
    "lasting_symptoms": "एक हफ़्ते या उससे ज़्यादा से लक्षण",
    "palpitations": "धड़कन तेज़ होना",
    "loose_motions_lasting": "तीन दिन या उससे ज़्यादा से दस्त",
    "blood_pressure_raised": "बढ़ा हुआ बीपी (140/90 या अधिक)",
}
SPECIALTIES_HI = {
    "cardiology": "हृदय रोग विशेषज्ञ (कार्डियोलॉजी)",
    "emergency medicine": "इमरजेंसी विभाग",
    "endocrinology": "हार्मोन और डायबिटीज़ विशेषज्ञ (एंडोक्राइनोलॉजी)",
    "gastroenterology": "पेट और लिवर विशेषज्ञ (गैस्ट्रोएंटेरोलॉजी)",
    "general medicine": "सामान्य चिकित्सक (जनरल मेडिसिन)",
    "general surgery": "सर्जन (जनरल सर्जरी)",
    "neurology": "न्यूरोलॉजी (दिमाग और नसों के विशेषज्ञ)",
    "obstetrics": "स्त्री रोग और प्रसूति विशेषज्ञ",
    "orthopaedics": "हड्डी रोग विशेषज्ञ (ऑर्थोपेडिक्स)",
    "paediatrics": "बच्चों के डॉक्टर (पीडियाट्रिक्स)",
    "psychiatry": "मनोचिकित्सक (साइकियाट्री)",
    "pulmonology": "फेफड़ों के विशेषज्ञ (पल्मोनोलॉजी)",
}
# A day as each language writes it, from CLDR through Babel (not weekday and month names typed in here).
_DAY_FORMAT = {"en": "EEE d MMM", "hi": "EEEE, d MMMM", "mr": "EEEE, d MMMM"}  # Marathi: the coming third language


def reason(lang: str, rule: str, why: str) -> str:
    """A triage rule's reason in the page's language (English where there is no translation)."""
    return REASONS_HI.get(rule, why) if lang == "hi" else why


def specialty(lang: str, name: str) -> str:
    return SPECIALTIES_HI.get(name, name) if lang == "hi" else name[:1].upper() + name[1:]


def day_name(lang: str, d: date) -> str:
    """'Tue 24 Nov' or 'मंगलवार, 24 नवंबर'."""
    return format_date(d, _DAY_FORMAT.get(lang, _DAY_FORMAT["en"]), locale=lang if lang in _DAY_FORMAT else "en")


def clock(lang: str, at: datetime) -> str:
    """'7:00 am' or '07:00', in the lab's time zone."""
    local = at.astimezone(LAB_TZ)
    return local.strftime("%H:%M") if lang == "hi" else local.strftime("%I:%M %p").lstrip("0").lower()
