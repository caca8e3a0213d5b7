"""Every word the patient pages say, in English and Hindi, written for someone anxious about their results."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.labtime import LAB_TZ

LANGS = ("en", "hi")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "labpulse: your tests",
        "lang_other": "हिन्दी",
        "signin_heading": "See your tests, live",
        "signin_intro": "Enter the mobile number you gave at the collection centre. We will send you a 6-digit code.",
        "phone_label": "Mobile number",
        "send_code": "Send me a code",
        "code_heading": "Enter your code",
        "code_intro": "We sent a 6-digit code to {hint} if that number is registered with us. It works for 10 minutes.",
        "code_label": "6-digit code",
        "verify": "Sign in",
        "new_code": "Send a new code",
        "link_heading": "Continue to your tests",
        "link_intro": "Tap the button to sign in on this device.",
        "continue": "Continue",
        "my_tests": "My tests",
        "viewing": "Showing tests for",
        "switch": "Show",
        "no_tests": "There are no tests on file for this person yet.",
        "tests": "Tests",
        "barcode": "Tube",
        "live": "Live",
        "reconnecting": "Reconnecting…",
        "offline": "Updates paused. Reload the page to see the latest.",
        "who_viewed": "Who viewed my data",
        "who_intro": "Every time someone at the lab, or you, opens or changes this record, it is written down here.",
        "when": "When",
        "who": "Who",
        "what": "What",
        "back": "Back to my tests",
        "signout": "Sign out",
        "signout_all": "Sign out on all devices",
        "signed_out": "You have been signed out.",
        "step_collected": "Collected",
        "step_in_transit": "On the way to the lab",
        "step_received_at_lab": "Received at the lab",
        "step_processing": "Being tested",
        "step_completed": "Results checked",
        "step_reported": "Report ready",
        "msg_collected": "Your sample was collected at {centre}. It will travel to our lab next.",
        "msg_in_transit": "Your sample is on its way to our lab, kept at the right temperature.",
        "msg_received_at_lab": "Your sample has reached our lab safely and is waiting its turn.",
        "msg_processing": "Your sample is being tested now.",
        "msg_completed": "Testing is finished. A doctor is checking your results before the report is released.",
        "msg_reported": "Your report is ready.",
        "msg_rejected": (
            "We need a fresh sample: the one we collected could not be tested ({reason}). This happens "
            "sometimes and says nothing about your health. We will call you to arrange a new collection at no cost."
        ),
        "msg_recollection_requested": "A new collection has been arranged. Thank you for your patience.",
        "eta": "Your report should be ready by {when}.",
        "eta_late": "This is taking longer than usual. We are on it, and will message you as soon as it is ready.",
        "today": "today",
        "tomorrow": "tomorrow",
        "err_generic": "Something went wrong on our side. Nothing was lost; please try again in a moment.",
        "err_csrf": "This page had been open too long. Please try again.",
        "reason_haemolysed": "the blood cells had broken down",
        "reason_clotted": "the sample had clotted",
        "reason_insufficient_volume": "there was not enough sample",
        "reason_mislabelled": "the label could not be confirmed",
        "reason_leaked": "the tube leaked",
        "reason_delayed_in_transit": "it took too long to reach the lab",
        "reason_wrong_container": "it was collected in the wrong tube",
        "reason_other": "a handling problem",
        "act_read": "opened your record",
        "act_change": "updated your record",
        "act_refused": "was refused access",
        "call_expected": (
            "One of your results needs a doctor's attention. There is no need to worry: a doctor may call you to "
            "talk it through. Please keep your phone nearby."
        ),
        "report_updated": (
            "Your report has been updated: the lab checked one of your results again and corrected it. The new "
            "version replaces the old one; your doctor can see it too."
        ),
        "download_report": "Download your report (PDF)",
        "my_data": "My data",
        "my_data_intro": "Your data belongs to you. Take a full copy at any time, in two formats.",
        "download_json": "Download everything (JSON)",
        "download_fhir": "Download for another hospital or app (FHIR)",
        "close_heading": "Close my account",
        "close_intro": (
            "Closing erases your phone number and address, so we will never message you again. Your test records stay "
            "with the lab for as long as the law requires medical records to be kept; to see them later, visit any "
            "collection centre with a photo ID."
        ),
        "close_confirm": "I understand, close the account of this person",
        "close_button": "Close account",
        "closed": (
            "The account is closed. We have erased the phone number and address. The test records stay with the lab "
            "for as long as the law requires."
        ),
        "triage_heading": "Check your symptoms",
        "triage_intro": (
            "Tell us in your own words what you feel and since when. We will suggest how soon to see a doctor and "
            "which first tests can help. This is a guide, not a diagnosis."
        ),
        "triage_danger": (
            "If someone has severe chest pain, great difficulty breathing, has fainted or is bleeding heavily, do not "
            "wait: call an ambulance."
        ),
        "symptoms_label": "Your symptoms",
        "symptoms_help": "For example: fever and headache since 2 days, no cough. A few sentences are enough.",
        "age_label": "Age in years (optional)",
        "sex_label": "Sex (optional)",
        "sex_none": "Prefer not to say",
        "sex_female": "Female",
        "sex_male": "Male",
        "triage_submit": "Check my symptoms",
        "triage_kept": "You are signed in, so this check is kept in your record, encrypted.",
        "triage_not_kept": "You are not signed in, so nothing you write here is stored.",
        "result_heading": "What we suggest",
        "level_emergency": "Get emergency help now",
        "level_urgent": "Please see a doctor within 24 hours",
        "level_routine": "Please book a doctor's consultation in the coming days",
        "level_self_care": "This can usually be looked after at home",
        "call_ambulance": "Call an ambulance: {number}",
        "advice_heading": "What to do now",
        "why_heading": "Why we suggest this",
        "your_words": "Your words",
        "not_present_heading": "You said these are not there",
        "specialty_heading": "Which doctor",
        "tests_heading": "Suggested first tests",
        "book_tests": "Book these tests",
        "book_any": "Book a test",
        "book_consult": "Book a teleconsult",
        "triage_again": "Check other symptoms",
        "not_diagnosis": "This is a guide, not a diagnosis. If you feel worse or are worried, please see a doctor.",
        "err_age": "Age is a whole number of years from 0 to 120.",
        "err_sex": "Please choose female or male, or leave it out.",
        "err_text_empty": "Please describe the symptoms in words, for example: fever and headache since 2 days.",
        "err_text_long": "Please keep it under {n} characters; a few sentences are enough.",
        "book_heading": "Book a sample collection",
        "consult_soon": "Teleconsult booking is coming soon; you can book the tests now.",
        "book_what": "What to book",
        "book_from_check": "We have ticked the tests from your symptom check. You can change the selection.",
        "book_unmatched": (
            "These suggested tests cannot be booked online yet: {tests}. A doctor or the collection centre can "
            "arrange them."
        ),
        "book_where": "Where should we take the sample?",
        "at_centre": "At a collection centre",
        "at_home": "At my home",
        "centre_label": "Collection centre",
        "pincode_label": "Pincode (for home collection)",
        "address_label": "Full address (house, street, landmark)",
        "show_times": "Show available times",
        "book_when": "When",
        "day_label": "Day",
        "time_legend": "Time",
        "places_left": "{n} left",
        "book_total": "Total: {price}",
        "book_button": "Book this time",
        "err_where": "Please choose a collection centre, or home collection.",
        "err_centre": "Please choose a collection centre.",
        "err_pincode": "Please enter the 6-digit pincode, for example 400050.",
        "err_pincode_unserved": (
            "We do not collect at home in pincode {pincode} yet. Please choose a collection centre instead."
        ),
        "err_address": "Please write the full address (at least 10 characters), so our team can find you.",
        "err_items": "Please choose at least one test or package.",
        "err_slot": "Please choose one of the times shown.",
        "err_no_days": "There are no free times here in the coming week. Please choose another place.",
        "err_slot_full": "That time has just been taken by someone else. Nothing is lost: please choose another time.",
        "err_slot_gone": "That time is no longer available. Nothing is lost: please choose another time.",
        "err_no_phone": "We could not find your mobile number on file. Please book at a centre or on WhatsApp.",
        "booked_heading": "Your collection is booked",
        "booked_ref": "Reference",
        "booked_where": "Where",
        "booked_items": "Tests",
        "booked_price": "Price",
        "booked_home": "At your home, pincode {pincode} ({area})",
        "booked_keep": "Please keep the reference; show it when we collect your sample.",
        "book_tests_link": "Book tests",
        "check_symptoms_link": "Check symptoms",
    },
    "hi": {
        "title": "labpulse: आपकी जाँचें",
        "lang_other": "English",
        "signin_heading": "अपनी जाँचें लाइव देखें",
        "signin_intro": "कलेक्शन सेंटर पर दिया गया मोबाइल नंबर लिखें। हम आपको 6 अंकों का कोड भेजेंगे।",
        "phone_label": "मोबाइल नंबर",
        "send_code": "मुझे कोड भेजें",
        "code_heading": "अपना कोड लिखें",
        "code_intro": "अगर यह नंबर हमारे पास दर्ज है, तो हमने {hint} पर 6 अंकों का कोड भेजा है। यह 10 मिनट तक चलेगा।",
        "code_label": "6 अंकों का कोड",
        "verify": "साइन इन करें",
        "new_code": "नया कोड भेजें",
        "link_heading": "अपनी जाँचें देखें",
        "link_intro": "इस डिवाइस पर साइन इन करने के लिए बटन दबाएँ।",
        "continue": "आगे बढ़ें",
        "my_tests": "मेरी जाँचें",
        "viewing": "इनकी जाँचें दिख रही हैं",
        "switch": "दिखाएँ",
        "no_tests": "इस व्यक्ति की अभी कोई जाँच दर्ज नहीं है।",
        "tests": "जाँचें",
        "barcode": "ट्यूब",
        "live": "लाइव",
        "reconnecting": "फिर से जुड़ रहे हैं…",
        "offline": "अपडेट रुके हुए हैं। ताज़ा जानकारी के लिए पेज दोबारा खोलें।",
        "who_viewed": "मेरी जानकारी किसने देखी",
        "who_intro": "जब भी लैब में कोई, या आप, यह रिकॉर्ड खोलते या बदलते हैं, वह यहाँ लिखा जाता है।",
        "when": "कब",
        "who": "किसने",
        "what": "क्या",
        "back": "मेरी जाँचों पर लौटें",
        "signout": "साइन आउट",
        "signout_all": "सभी डिवाइस से साइन आउट",
        "signed_out": "आप साइन आउट हो गए हैं।",
        "step_collected": "सैंपल लिया गया",
        "step_in_transit": "लैब के रास्ते में",
        "step_received_at_lab": "लैब में पहुँचा",
        "step_processing": "जाँच चल रही है",
        "step_completed": "नतीजे जाँचे गए",
        "step_reported": "रिपोर्ट तैयार",
        "msg_collected": "आपका सैंपल {centre} पर लिया गया। अब यह हमारी लैब जाएगा।",
        "msg_in_transit": "आपका सैंपल सही तापमान में हमारी लैब की ओर जा रहा है।",
        "msg_received_at_lab": "आपका सैंपल सुरक्षित रूप से हमारी लैब पहुँच गया है और अपनी बारी का इंतज़ार कर रहा है।",
        "msg_processing": "आपके सैंपल की जाँच अभी चल रही है।",
        "msg_completed": "जाँच पूरी हो गई है। रिपोर्ट जारी होने से पहले डॉक्टर आपके नतीजे देख रहे हैं।",
        "msg_reported": "आपकी रिपोर्ट तैयार है।",
        "msg_rejected": (
            "हमें नया सैंपल चाहिए: लिया गया सैंपल जाँचा नहीं जा सका ({reason})। ऐसा कभी-कभी होता है और इसका "
            "आपकी सेहत से कोई लेना-देना नहीं है। हम आपको फ़ोन करके बिना किसी शुल्क के नया सैंपल लेने का समय तय करेंगे।"
        ),
        "msg_recollection_requested": "नया सैंपल लेने का इंतज़ाम कर दिया गया है। धैर्य रखने के लिए धन्यवाद।",
        "eta": "आपकी रिपोर्ट {when} तक तैयार हो जानी चाहिए।",
        "eta_late": "इसमें सामान्य से ज़्यादा समय लग रहा है। हम इस पर काम कर रहे हैं और तैयार होते ही संदेश भेजेंगे।",
        "today": "आज",
        "tomorrow": "कल",
        "err_generic": "हमारी तरफ़ से कुछ गड़बड़ हुई। कुछ भी खोया नहीं है; कृपया थोड़ी देर में फिर कोशिश करें।",
        "err_csrf": "यह पेज बहुत देर से खुला था। कृपया फिर कोशिश करें।",
        "reason_haemolysed": "खून की कोशिकाएँ टूट गई थीं",
        "reason_clotted": "सैंपल जम गया था",
        "reason_insufficient_volume": "सैंपल कम था",
        "reason_mislabelled": "लेबल की पुष्टि नहीं हो सकी",
        "reason_leaked": "ट्यूब लीक हो गई थी",
        "reason_delayed_in_transit": "लैब पहुँचने में बहुत देर हो गई",
        "reason_wrong_container": "सैंपल गलत ट्यूब में लिया गया था",
        "reason_other": "रखरखाव में दिक्कत",
        "act_read": "ने आपका रिकॉर्ड खोला",
        "act_change": "ने आपका रिकॉर्ड अपडेट किया",
        "act_refused": "को पहुँच नहीं दी गई",
        "call_expected": (
            "आपके एक नतीजे पर डॉक्टर का ध्यान ज़रूरी है। चिंता की कोई बात नहीं है: डॉक्टर आपसे बात करने के लिए फ़ोन कर सकते हैं। "
            "कृपया अपना फ़ोन पास रखें।"
        ),
        "report_updated": (
            "आपकी रिपोर्ट अपडेट की गई है: लैब ने आपके एक नतीजे को दोबारा जाँचा और सुधारा। नया संस्करण पुराने की जगह लेता है; "
            "आपके डॉक्टर भी इसे देख सकते हैं।"
        ),
        "download_report": "अपनी रिपोर्ट डाउनलोड करें (PDF)",
        "my_data": "मेरा डेटा",
        "my_data_intro": "आपका डेटा आपका है। कभी भी पूरी प्रति लें, दो रूपों में।",
        "download_json": "सब कुछ डाउनलोड करें (JSON)",
        "download_fhir": "किसी दूसरे अस्पताल या ऐप के लिए डाउनलोड करें (FHIR)",
        "close_heading": "मेरा खाता बंद करें",
        "close_intro": (
            "खाता बंद करने पर आपका फ़ोन नंबर और पता मिटा दिया जाएगा, और हम आपको फिर कभी संदेश नहीं भेजेंगे। आपकी जाँचों के "
            "रिकॉर्ड कानून के अनुसार चिकित्सा रिकॉर्ड रखने की अवधि तक लैब के पास रहेंगे; बाद में देखने के लिए फ़ोटो पहचान पत्र के "
            "साथ किसी भी कलेक्शन सेंटर पर आएँ।"
        ),
        "close_confirm": "मैं समझता/समझती हूँ, इस व्यक्ति का खाता बंद करें",
        "close_button": "खाता बंद करें",
        "closed": (
            "खाता बंद हो गया है। हमने फ़ोन नंबर और पता मिटा दिया है। जाँचों के रिकॉर्ड कानून के अनुसार तय अवधि तक लैब के पास रहेंगे।"
        ),
        "triage_heading": "अपने लक्षण जाँचें",
        "triage_intro": (
            "अपने शब्दों में बताएँ कि आपको क्या तकलीफ़ है और कब से। हम बताएँगे कि डॉक्टर को कितनी जल्दी दिखाना चाहिए और कौन-से "
            "पहले टेस्ट मदद कर सकते हैं। यह एक मार्गदर्शन है, निदान नहीं।"
        ),
        "triage_danger": (
            "अगर किसी को सीने में तेज़ दर्द है, साँस लेने में बहुत तकलीफ़ है, वह बेहोश हुआ है या बहुत खून बह रहा है, तो इंतज़ार "
            "न करें: एम्बुलेंस बुलाएँ।"
        ),
        "symptoms_label": "आपके लक्षण",
        "symptoms_help": "जैसे: 2 दिन से बुखार और सिरदर्द, खाँसी नहीं। कुछ वाक्य काफ़ी हैं।",
        "age_label": "उम्र, सालों में (ज़रूरी नहीं)",
        "sex_label": "लिंग (ज़रूरी नहीं)",
        "sex_none": "नहीं बताना चाहते",
        "sex_female": "महिला",
        "sex_male": "पुरुष",
        "triage_submit": "मेरे लक्षण जाँचें",
        "triage_kept": "आप साइन इन हैं, इसलिए यह जाँच आपके रिकॉर्ड में एन्क्रिप्ट करके रखी जाएगी।",
        "triage_not_kept": "आप साइन इन नहीं हैं, इसलिए यहाँ लिखी कोई बात सहेजी नहीं जाती।",
        "result_heading": "हमारी सलाह",
        "level_emergency": "अभी इमरजेंसी मदद लें",
        "level_urgent": "कृपया 24 घंटों के अंदर डॉक्टर को दिखाएँ",
        "level_routine": "कृपया अगले कुछ दिनों में डॉक्टर से परामर्श बुक करें",
        "level_self_care": "यह आमतौर पर घर पर ठीक हो जाता है",
        "call_ambulance": "एम्बुलेंस बुलाएँ: {number}",
        "advice_heading": "अभी क्या करें",
        "why_heading": "हम यह क्यों कह रहे हैं",
        "your_words": "आपके शब्द",
        "not_present_heading": "आपने बताया कि ये नहीं हैं",
        "specialty_heading": "किस डॉक्टर को दिखाएँ",
        "tests_heading": "सुझाए गए पहले टेस्ट",
        "book_tests": "ये टेस्ट बुक करें",
        "book_any": "टेस्ट बुक करें",
        "book_consult": "टेली-परामर्श बुक करें",
        "triage_again": "दूसरे लक्षण जाँचें",
        "not_diagnosis": "यह एक मार्गदर्शन है, निदान नहीं। तबीयत बिगड़े या चिंता हो, तो कृपया डॉक्टर को दिखाएँ।",
        "err_age": "उम्र 0 से 120 के बीच पूरे सालों में लिखें।",
        "err_sex": "कृपया महिला या पुरुष चुनें, या इसे खाली छोड़ दें।",
        "err_text_empty": "कृपया लक्षण शब्दों में लिखें, जैसे: 2 दिन से बुखार और सिरदर्द।",
        "err_text_long": "कृपया {n} अक्षरों से कम में लिखें; कुछ वाक्य काफ़ी हैं।",
        "err_slot_gone": "यह समय अब उपलब्ध नहीं है। आपका कुछ भी नहीं खोया: कृपया कोई दूसरा समय चुनें।",
        "book_heading": "सैंपल कलेक्शन बुक करें",
        "consult_soon": "टेली-परामर्श की बुकिंग जल्द शुरू होगी; अभी आप टेस्ट बुक कर सकते हैं।",
        "book_what": "क्या बुक करना है",
        "book_from_check": "आपकी लक्षण जाँच के टेस्ट हमने चुन दिए हैं। आप इन्हें बदल सकते हैं।",
        "book_unmatched": "सुझाए गए ये टेस्ट अभी ऑनलाइन बुक नहीं हो सकते: {tests}। डॉक्टर या कलेक्शन सेंटर इनका इंतज़ाम कर सकते हैं।",
        "book_where": "सैंपल कहाँ लिया जाए?",
        "at_centre": "कलेक्शन सेंटर पर",
        "at_home": "मेरे घर पर",
        "centre_label": "कलेक्शन सेंटर",
        "pincode_label": "पिनकोड (घर से कलेक्शन के लिए)",
        "address_label": "पूरा पता (मकान, गली, लैंडमार्क)",
        "show_times": "खाली समय दिखाएँ",
        "book_when": "कब",
        "day_label": "दिन",
        "time_legend": "समय",
        "places_left": "{n} बाकी",
        "book_total": "कुल: {price}",
        "book_button": "यह समय बुक करें",
        "err_where": "कृपया कलेक्शन सेंटर या घर से कलेक्शन चुनें।",
        "err_centre": "कृपया कलेक्शन सेंटर चुनें।",
        "err_pincode": "कृपया 6 अंकों का पिनकोड लिखें, जैसे 400050।",
        "err_pincode_unserved": "पिनकोड {pincode} में अभी हम घर से सैंपल नहीं लेते। कृपया कोई कलेक्शन सेंटर चुनें।",
        "err_address": "कृपया पूरा पता लिखें (कम से कम 10 अक्षर), ताकि हमारी टीम आप तक पहुँच सके।",
        "err_items": "कृपया कम से कम एक टेस्ट या पैकेज चुनें।",
        "err_slot": "कृपया दिखाए गए समयों में से एक चुनें।",
        "err_no_days": "अगले हफ़्ते यहाँ कोई खाली समय नहीं है। कृपया कोई दूसरी जगह चुनें।",
        "err_slot_full": "यह समय अभी-अभी किसी और ने ले लिया। आपका कुछ भी नहीं खोया: कृपया कोई दूसरा समय चुनें।",
        "err_no_phone": "आपका मोबाइल नंबर हमारे रिकॉर्ड में नहीं मिला। कृपया सेंटर पर या WhatsApp पर बुक करें।",
        "booked_heading": "आपका कलेक्शन बुक हो गया है",
        "booked_ref": "रेफ़रेंस",
        "booked_where": "कहाँ",
        "booked_items": "टेस्ट",
        "booked_price": "कीमत",
        "booked_home": "आपके घर पर, पिनकोड {pincode} ({area})",
        "booked_keep": "कृपया रेफ़रेंस संभालकर रखें; सैंपल लेते समय इसे दिखाएँ।",
        "book_tests_link": "टेस्ट बुक करें",
        "check_symptoms_link": "लक्षण जाँचें",
    },
}


def t(lang: str, key: str, **kw: object) -> str:
    text = TEXT.get(lang, TEXT["en"]).get(key) or TEXT["en"][key]
    return text.format(**kw) if kw else text


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
_WEEKDAYS_HI = ("सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार", "शनिवार", "रविवार")
_MONTHS_HI = ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर")


def reason(lang: str, rule: str, why: str) -> str:
    """A triage rule's reason in the page's language (English where there is no translation)."""
    return REASONS_HI.get(rule, why) if lang == "hi" else why


def specialty(lang: str, name: str) -> str:
    return SPECIALTIES_HI.get(name, name) if lang == "hi" else name[:1].upper() + name[1:]


def day_name(lang: str, d: date) -> str:
    """'Tue 24 Nov' or 'मंगलवार, 24 नवंबर'."""
    if lang == "hi":
        return f"{_WEEKDAYS_HI[d.weekday()]}, {d.day} {_MONTHS_HI[d.month - 1]}"
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')}"


def clock(lang: str, at: datetime) -> str:
    """'7:00 am' or '07:00', in the lab's time zone."""
    local = at.astimezone(LAB_TZ)
    return local.strftime("%H:%M") if lang == "hi" else local.strftime("%I:%M %p").lstrip("0").lower()


# Teleconsults: booking, joining and the room (patient and doctor views).
TEXT["en"].update(
    {
        "consult_book_heading": "Book a video consultation",
        "consult_book_intro": "Talk to one of our doctors by video from your phone or computer. "
        "Choose a day and a time.",
        "consult_reason": "What would you like to talk about? (optional)",
        "consult_day": "Day",
        "consult_time": "Time",
        "consult_no_times": "No free times on this day. Please choose another day.",
        "consult_book_button": "Book this time",
        "consult_booked_heading": "Your video consultation is booked",
        "consult_booked_with": "With {doctor} at {time} ({ref}).",
        "consult_booked_link": "Open this link on the phone or computer you will use. It opens 15 minutes before and "
        "works only on the first device that opens it. We will also send it to you an hour before.",
        "consult_join": "Join the consultation",
        "consult_room_heading": "Video consultation",
        "consult_with": "With {doctor}",
        "consult_consent": "I agree that this consultation is transcribed to help the doctor write notes. The words "
        "are kept private and encrypted.",
        "consult_consent_doctor": "Patient consented to the transcript",
        "consult_waiting": "Waiting for the other person to join…",
        "consult_connected": "Connected",
        "consult_mute": "Mute",
        "consult_unmute": "Unmute",
        "consult_camera_off": "Camera off",
        "consult_camera_on": "Camera on",
        "consult_leave": "Leave",
        "consult_left": "You have left the consultation. You can rejoin with the same link while it is open.",
        "consult_quality": "Connection",
        "consult_quality_good": "good",
        "consult_quality_fair": "fair",
        "consult_quality_poor": "poor",
        "consult_transcript": "Live transcript",
        "consult_soap": "SOAP note draft",
        "consult_labs": "Recent lab results",
        "consult_no_labs": "No released results in the last six months.",
        "consult_save": "Save draft",
        "consult_sign": "Sign note",
        "consult_signed": "Signed",
        "consult_amend": "Amend",
        "consult_book_tests": "Send the patient a booking link for these tests",
        "consult_tests_sent": "Booking link sent to the patient.",
        "consult_error_heading": "We could not open the consultation",
        "consult_camera_error": "We could not use your camera or microphone. Please allow them in your browser and "
        "reload the page.",
        "subjective": "Subjective",
        "objective": "Objective",
        "assessment": "Assessment",
        "plan": "Plan",
        "speaker_doctor": "Doctor",
        "speaker_patient": "Patient",
    }
)
TEXT["hi"].update(
    {
        "consult_book_heading": "वीडियो परामर्श बुक करें",
        "consult_book_intro": "अपने फ़ोन या कंप्यूटर से हमारे डॉक्टर से वीडियो पर बात करें। दिन और समय चुनें।",
        "consult_reason": "आप किस बारे में बात करना चाहते हैं? (ज़रूरी नहीं)",
        "consult_day": "दिन",
        "consult_time": "समय",
        "consult_no_times": "इस दिन कोई समय खाली नहीं है। कृपया दूसरा दिन चुनें।",
        "consult_book_button": "यह समय बुक करें",
        "consult_booked_heading": "आपका वीडियो परामर्श बुक हो गया है",
        "consult_booked_with": "{doctor} के साथ, {time} बजे ({ref})।",
        "consult_booked_link": "यह लिंक उसी फ़ोन या कंप्यूटर पर खोलें जिससे आप जुड़ेंगे। यह 15 मिनट पहले खुलेगा और केवल उसी डिवाइस "
        "पर चलेगा जिस पर पहली बार खोला गया। हम इसे एक घंटा पहले भी भेजेंगे।",
        "consult_join": "परामर्श में जुड़ें",
        "consult_room_heading": "वीडियो परामर्श",
        "consult_with": "{doctor} के साथ",
        "consult_consent": "मैं सहमत हूँ कि डॉक्टर के नोट्स के लिए इस परामर्श को लिखा जाए। "
        "शब्द निजी और सुरक्षित (एन्क्रिप्टेड) रखे जाते हैं।",
        "consult_consent_doctor": "मरीज़ ने ट्रांसक्रिप्ट के लिए सहमति दी",
        "consult_waiting": "दूसरे व्यक्ति के जुड़ने का इंतज़ार…",
        "consult_connected": "जुड़ गए",
        "consult_mute": "आवाज़ बंद",
        "consult_unmute": "आवाज़ चालू",
        "consult_camera_off": "कैमरा बंद",
        "consult_camera_on": "कैमरा चालू",
        "consult_leave": "छोड़ें",
        "consult_left": "आपने परामर्श छोड़ दिया है। जब तक यह खुला है, आप उसी लिंक से फिर जुड़ सकते हैं।",
        "consult_quality": "कनेक्शन",
        "consult_quality_good": "अच्छा",
        "consult_quality_fair": "ठीक",
        "consult_quality_poor": "कमज़ोर",
        "consult_error_heading": "हम परामर्श नहीं खोल सके",
        "consult_camera_error": "हम आपका कैमरा या माइक्रोफ़ोन इस्तेमाल नहीं कर सके। कृपया ब्राउज़र में अनुमति दें और पेज दोबारा खोलें।",
    }
)


# The staff workspace (portal/staff_pages.py): short, plain words for people at work; Hindi as the lab says it.
TEXT["en"].update(
    {
        "staff_title": "labpulse: staff",
        "staff_signin_heading": "Staff sign-in",
        "staff_username": "Username",
        "staff_password": "Password",
        "staff_totp": "Authenticator code (6 digits)",
        "staff_totp_hint": "Only if your account uses an authenticator app.",
        "staff_signin_button": "Sign in",
        "staff_sso": "Sign in with your organisation's account",
        "staff_err_signin": "That username and password do not match. Please check them and try again.",
        "staff_err_totp": "Your account needs the 6-digit code from your authenticator app as well.",
        "staff_err_locked": "Too many tries: this account is locked for 15 minutes. "
        "An administrator can help if you need to get in sooner.",
        "staff_signed_in_as": "Signed in as {name} ({role})",
        "staff_signout": "Sign out",
        "staff_home_heading": "Your pages",
        "staff_nav": "Staff pages",
        "staff_nav_bench": "Bench: scan and worklist",
        "staff_nav_audit": "Audit log",
        "staff_nav_hl7": "HL7 review queue",
        "staff_hl7_heading": "HL7 messages to look at",
        "staff_hl7_intro": "Messages from analyzers and the LIS that could not be applied, or were applied but want a "
        "person's look. Fix the cause (register the tube, map the test code, confirm the doctor), then re-apply.",
        "staff_hl7_received": "Received",
        "staff_hl7_from": "From",
        "staff_hl7_message": "Message",
        "staff_hl7_answer": "Answer",
        "staff_hl7_why": "Why",
        "staff_hl7_actions": "What to do",
        "staff_hl7_look": "To look at:",
        "staff_hl7_reapply": "Re-apply",
        "staff_hl7_set_aside": "Set aside",
        "staff_hl7_seen": "Mark as seen",
        "staff_hl7_empty": "Nothing is waiting: every message was applied.",
        "staff_hl7_done_reapplied": "Applied: {detail}",
        "staff_hl7_done_held": "Still not applied: {detail}",
        "staff_hl7_done_reviewed": "Set aside: it is no longer in the queue.",
        "staff_hl7_raw_heading": "The message as it came",
        "staff_hl7_raw_intro": "It names a patient: your reading it has been recorded.",
        "staff_hl7_back": "Back to the queue",
        "staff_no_pages": "There are no pages for your role yet; the lab's JSON API and CLI serve it.",
        "staff_bench_heading": "Bench",
        "staff_scan_label": "Scan a tube",
        "staff_scan_hint": "Scan or type the barcode and press Enter: the tube moves to its next step.",
        "staff_scan_button": "Move on",
        "staff_scan_done": "{barcode} is now: {state}.",
        "staff_scan_err_unknown": "{barcode}: no tube has this barcode. It was noted for review.",
        "staff_scan_err_malformed": "That does not look like a barcode (6 to 32 letters, digits or dashes).",
        "staff_scan_err_stale": "{barcode} was just moved by someone else. Scan it again if it still needs to move.",
        "staff_scan_err_completed": "{barcode} is complete: it waits for the pathologist's release.",
        "staff_scan_err_reported": "{barcode} is already reported: nothing more to do.",
        "staff_scan_err_rejected": "{barcode} was rejected: a new tube is needed.",
        "staff_scan_err_refused": "{barcode} cannot be moved on from here.",
        "staff_worklist": "Worklist",
        "staff_worklist_scope": "Tubes at {centre}, oldest first.",
        "staff_worklist_everywhere": "Tubes at every centre, oldest first.",
        "staff_worklist_empty": "No tubes are waiting.",
        "staff_overdue_count": "{n} overdue",
        "staff_col_barcode": "Barcode",
        "staff_col_tests": "Tests",
        "staff_col_state": "Step",
        "staff_col_age": "Since collection",
        "staff_col_target": "Target",
        "staff_overdue": "Overdue",
        "staff_state_collected": "Collected",
        "staff_state_in_transit": "On the way to the lab",
        "staff_state_received_at_lab": "Received at the lab",
        "staff_state_processing": "On the analyzer",
        "staff_state_completed": "Complete, to release",
        "staff_state_reported": "Reported",
        "staff_state_rejected": "Rejected",
        "staff_state_recollection_requested": "New tube requested",
    }
)
TEXT["hi"].update(
    {
        "staff_title": "labpulse: स्टाफ़",
        "staff_signin_heading": "स्टाफ़ साइन-इन",
        "staff_username": "यूज़रनेम",
        "staff_password": "पासवर्ड",
        "staff_totp": "ऑथेंटिकेटर कोड (6 अंक)",
        "staff_totp_hint": "सिर्फ़ तब, जब आपका खाता ऑथेंटिकेटर ऐप इस्तेमाल करता है।",
        "staff_signin_button": "साइन इन करें",
        "staff_sso": "अपनी संस्था के खाते से साइन इन करें",
        "staff_err_signin": "यूज़रनेम और पासवर्ड मेल नहीं खाते। कृपया जाँचकर दोबारा कोशिश करें।",
        "staff_err_totp": "आपके खाते के लिए ऑथेंटिकेटर ऐप का 6 अंकों का कोड भी चाहिए।",
        "staff_err_locked": "बहुत बार कोशिश हुई: यह खाता 15 मिनट के लिए बंद है। जल्दी खुलवाना हो तो एडमिनिस्ट्रेटर मदद कर सकते हैं।",
        "staff_signed_in_as": "{name} ({role}) के रूप में साइन इन",
        "staff_signout": "साइन आउट",
        "staff_home_heading": "आपके पेज",
        "staff_nav": "स्टाफ़ पेज",
        "staff_nav_bench": "बेंच: स्कैन और वर्कलिस्ट",
        "staff_nav_audit": "ऑडिट लॉग",
        "staff_nav_hl7": "HL7 समीक्षा सूची",
        "staff_hl7_heading": "देखने लायक HL7 संदेश",
        "staff_hl7_intro": "एनालाइज़र और LIS के वे संदेश जो लागू नहीं हो सके, या लागू हुए पर किसी के देखने लायक हैं। "
        "वजह ठीक करें (ट्यूब दर्ज करें, टेस्ट कोड जोड़ें, डॉक्टर की पुष्टि करें), फिर दोबारा लागू करें।",
        "staff_hl7_received": "कब आया",
        "staff_hl7_from": "किससे",
        "staff_hl7_message": "संदेश",
        "staff_hl7_answer": "जवाब",
        "staff_hl7_why": "क्यों",
        "staff_hl7_actions": "क्या करें",
        "staff_hl7_look": "देखें:",
        "staff_hl7_reapply": "दोबारा लागू करें",
        "staff_hl7_set_aside": "अलग रखें",
        "staff_hl7_seen": "देख लिया",
        "staff_hl7_empty": "कुछ बाकी नहीं: हर संदेश लागू हो गया।",
        "staff_hl7_done_reapplied": "लागू हुआ: {detail}",
        "staff_hl7_done_held": "अभी भी लागू नहीं हुआ: {detail}",
        "staff_hl7_done_reviewed": "अलग रखा गया: अब यह सूची में नहीं है।",
        "staff_hl7_raw_heading": "संदेश, जैसा आया",
        "staff_hl7_raw_intro": "इसमें मरीज़ का नाम है: आपका इसे पढ़ना दर्ज कर लिया गया है।",
        "staff_hl7_back": "सूची पर वापस",
        "staff_no_pages": "आपकी भूमिका के लिए अभी कोई पेज नहीं है; लैब का JSON API और CLI इसके लिए है।",
        "staff_bench_heading": "बेंच",
        "staff_scan_label": "ट्यूब स्कैन करें",
        "staff_scan_hint": "बारकोड स्कैन करें या लिखकर Enter दबाएँ: ट्यूब अगले चरण में चली जाएगी।",
        "staff_scan_button": "आगे बढ़ाएँ",
        "staff_scan_done": "{barcode} अब: {state}।",
        "staff_scan_err_unknown": "{barcode}: इस बारकोड की कोई ट्यूब नहीं है। इसे जाँच के लिए दर्ज कर लिया गया है।",
        "staff_scan_err_malformed": "यह बारकोड जैसा नहीं लगता (6 से 32 अक्षर, अंक या डैश)।",
        "staff_scan_err_stale": "{barcode} को अभी किसी और ने आगे बढ़ाया है। ज़रूरत हो तो दोबारा स्कैन करें।",
        "staff_scan_err_completed": "{barcode} पूरी हो चुकी है: पैथोलॉजिस्ट की मंज़ूरी बाकी है।",
        "staff_scan_err_reported": "{barcode} की रिपोर्ट जा चुकी है: अब कुछ करना बाकी नहीं।",
        "staff_scan_err_rejected": "{barcode} रिजेक्ट हुई थी: नई ट्यूब चाहिए।",
        "staff_scan_err_refused": "{barcode} को यहाँ से आगे नहीं बढ़ाया जा सकता।",
        "staff_worklist": "वर्कलिस्ट",
        "staff_worklist_scope": "{centre} की ट्यूबें, सबसे पुरानी पहले।",
        "staff_worklist_everywhere": "सभी सेंटरों की ट्यूबें, सबसे पुरानी पहले।",
        "staff_worklist_empty": "कोई ट्यूब इंतज़ार में नहीं है।",
        "staff_overdue_count": "{n} देर से",
        "staff_col_barcode": "बारकोड",
        "staff_col_tests": "टेस्ट",
        "staff_col_state": "चरण",
        "staff_col_age": "सैंपल लेने के बाद से",
        "staff_col_target": "लक्ष्य",
        "staff_overdue": "देर हो गई",
        "staff_state_collected": "सैंपल लिया गया",
        "staff_state_in_transit": "लैब के रास्ते में",
        "staff_state_received_at_lab": "लैब में पहुँचा",
        "staff_state_processing": "मशीन पर",
        "staff_state_completed": "पूरा, मंज़ूरी बाकी",
        "staff_state_reported": "रिपोर्ट जा चुकी",
        "staff_state_rejected": "रिजेक्ट",
        "staff_state_recollection_requested": "नई ट्यूब माँगी गई",
    }
)
