"""Every word the patient pages say, in English and Hindi, written for someone anxious about their results."""

from __future__ import annotations

from datetime import datetime, timedelta

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
