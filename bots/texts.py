"""Every bot message, in English and Hindi. Short lines for a phone screen; calm words; no results, ever."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "menu": (
            "Namaste from labpulse. Reply with a number:\n1 Book a test (home or centre)\n2 Where is my report?\n"
            "3 My bookings (change or cancel)\n4 हिंदी में बात करें\n5 Help"
        ),
        "help": (
            "labpulse lab services. Reply MENU for options, BOOK to book a test, REPORT for your report's status. "
            "STOP ends reminders, START brings them back; REPORTS OFF / REPORTS ON for report messages. "
            "Need a person? Call 1800-000-000 (8 am to 8 pm)."
        ),
        "unknown": "Sorry, I did not understand that. Here is what I can do:",
        "send_again": "Sorry, we could not take your last message just then. Please send it again.",
        "restarted": "We had not heard from you for a while, so let us start again.",
        "stopped": (
            "You will get no more reminders or offers from us on any channel. Messages about your own reports "
            "still come. Reply START to undo. (To cancel a booking, send: cancel booking)"
        ),
        "started": "Reminders are back on. Reply STOP at any time to end them.",
        "reports_off": (
            "We will no longer message you when a report is ready; you can still open it on our website. "
            "Reply REPORTS ON to undo."
        ),
        "reports_on": "We will message you when a report is ready. Reply REPORTS OFF to stop these messages.",
        "lang_set": "We will talk in English from now on.",
        "items": "Which tests? Reply with one or more numbers, like 1 or 2,5:\n{lines}",
        "items_bad": "Please reply with the numbers from the list, like 1 or 2,5.",
        "where": "Where should we collect the sample?\n1 At home (our phlebotomist visits)\n2 At a collection centre",
        "pincode": "Please send your 6-digit pincode.",
        "pincode_bad": "A pincode has 6 digits, like 400050. Please send yours.",
        "pincode_unserved": (
            "Sorry, we do not visit homes in {pincode} yet. Reply 2 to visit a collection centre instead, "
            "or send another pincode."
        ),
        "address": "We visit {area}. Please send the full address (house, street, landmark).",
        "address_bad": "Please send the full address so our phlebotomist can find you.",
        "centre": "Which centre?\n{lines}",
        "day": "Which day?\n{lines}",
        "no_days": "Sorry, every time in the next week is taken there. Please try another place, or call us.",
        "slot": "Which time on {day}? (places left in brackets)\n{lines}",
        "confirm": "Please check: {items} ({price}), {where}, {when}. Reply YES to book or NO to stop.",
        "booked": (
            "Booked. Your booking number is {ref}: {items}, {where}, {when}. Total {price}, paid at collection. "
            "We will remind you the evening before and an hour before. For a fasting test, eat nothing after "
            "10 pm the night before; water is fine."
        ),
        "not_booked": "Fine, nothing was booked. Reply MENU when you want to start again.",
        "slot_full": "That time has just been taken by someone else. Please choose another:",
        "home_where": "at home ({pincode})",
        "dob": (
            "To keep reports private, please send the date of birth of the person the report is for, like 14-03-1968."
        ),
        "dob_bad": "Please send the date of birth as day-month-year, like 14-03-1968.",
        "dob_wrong": "That date of birth does not match our records for this phone. Please check and send it again.",
        "dob_locked": (
            "For your privacy we cannot check more dates of birth from this phone for now. Please sign in on our "
            "website or call 1800-000-000."
        ),
        "which_person": "Which person?\n{lines}",
        "no_tests": "We have no tests on record for this person yet.",
        "no_phone_records": "We have no tests on record for this phone number yet. Reply BOOK to book one.",
        "status_collected": "{tests}: collected at {centre}, on its way to the lab soon.",
        "status_in_transit": "{tests}: on its way to our lab.",
        "status_received_at_lab": "{tests}: at our lab, waiting its turn.",
        "status_processing": "{tests}: being tested now.",
        "status_completed": "{tests}: tested; a pathologist is checking the results.",
        "status_reported": "{tests}: your report is ready. Open it on our website or from the message we sent.",
        "status_rejected": "{tests}: we need a fresh sample. Our team will call to arrange it; nothing to worry about.",
        "status_recollection_requested": "{tests}: we need a fresh sample. Our team will call to arrange it.",
        "eta": " Expected by {when}.",
        "call": " A doctor may call you about one result; please keep your phone nearby.",
        "no_bookings": "You have no upcoming bookings. Reply BOOK to book a test.",
        "bookings": "Your bookings:\n{lines}\nReply with a number to change or cancel it.",
        "manage": "Booking {ref}, {when}.\n1 Change the time\n2 Cancel it",
        "cancelled": "Booking {ref} is cancelled. Nothing to pay. Reply BOOK to book again.",
        "rescheduled": "Done: booking {ref} is now {when}. We will remind you before.",
        "triage_tests": " Tests a doctor would usually start with: {tests}.",
        "triage_book": " Reply BOOK to book tests or a consultation.",
        "triage_consult": " To talk to a doctor by video: {url}",
        "yes_words": "yes",
    },
    "hi": {
        "menu": (
            "labpulse से नमस्ते। एक नंबर भेजें:\n1 टेस्ट बुक करें (घर या सेंटर)\n2 मेरी रिपोर्ट कहाँ है?\n"
            "3 मेरी बुकिंग (बदलें या रद्द करें)\n4 English\n5 मदद"
        ),
        "help": (
            "labpulse लैब सेवाएँ। विकल्पों के लिए MENU, टेस्ट बुक करने के लिए BOOK, रिपोर्ट की स्थिति के लिए REPORT भेजें। "
            "STOP से रिमाइंडर बंद, START से फिर चालू। किसी से बात करनी है? 1800-000-000 पर कॉल करें (सुबह 8 से रात 8)।"
        ),
        "unknown": "माफ़ कीजिए, मैं समझ नहीं पाया। मैं यह कर सकता हूँ:",
        "send_again": "माफ़ कीजिए, आपका पिछला संदेश उस समय हम तक नहीं पहुँच पाया। कृपया उसे फिर से भेजें।",
        "restarted": "आपसे काफ़ी देर बात नहीं हुई, इसलिए फिर से शुरू करते हैं।",
        "stopped": (
            "अब आपको किसी भी माध्यम पर हमारे रिमाइंडर या ऑफ़र नहीं मिलेंगे। आपकी अपनी रिपोर्ट के संदेश आते रहेंगे। "
            "वापस चालू करने के लिए START भेजें। (बुकिंग रद्द करने के लिए भेजें: cancel booking)"
        ),
        "started": "रिमाइंडर फिर से चालू हैं। बंद करने के लिए कभी भी STOP भेजें।",
        "reports_off": (
            "अब रिपोर्ट तैयार होने पर हम संदेश नहीं भेजेंगे; आप वेबसाइट पर रिपोर्ट देख सकते हैं। वापस चालू करने के लिए REPORTS ON भेजें।"
        ),
        "reports_on": "रिपोर्ट तैयार होने पर हम संदेश भेजेंगे। ये संदेश बंद करने के लिए REPORTS OFF भेजें।",
        "lang_set": "अब से हम हिंदी में बात करेंगे।",
        "items": "कौन से टेस्ट? एक या ज़्यादा नंबर भेजें, जैसे 1 या 2,5:\n{lines}",
        "items_bad": "कृपया सूची के नंबर भेजें, जैसे 1 या 2,5।",
        "where": "सैंपल कहाँ लें?\n1 घर पर (हमारे फ़्लेबोटोमिस्ट आएँगे)\n2 कलेक्शन सेंटर पर",
        "pincode": "कृपया अपना 6 अंकों का पिनकोड भेजें।",
        "pincode_bad": "पिनकोड 6 अंकों का होता है, जैसे 400050। कृपया अपना भेजें।",
        "pincode_unserved": ("माफ़ कीजिए, {pincode} में अभी हम घर नहीं आते। सेंटर जाने के लिए 2 भेजें, या दूसरा पिनकोड भेजें।"),
        "address": "हम {area} में आते हैं। कृपया पूरा पता भेजें (मकान, गली, लैंडमार्क)।",
        "address_bad": "कृपया पूरा पता भेजें ताकि हमारे फ़्लेबोटोमिस्ट आप तक पहुँच सकें।",
        "centre": "कौन सा सेंटर?\n{lines}",
        "day": "कौन सा दिन?\n{lines}",
        "no_days": "माफ़ कीजिए, अगले हफ़्ते वहाँ सारे समय भर चुके हैं। कृपया दूसरी जगह चुनें या हमें कॉल करें।",
        "slot": "{day} को कौन सा समय? (कोष्ठक में खाली जगहें)\n{lines}",
        "confirm": "कृपया जाँच लें: {items} ({price}), {where}, {when}। बुक करने के लिए YES, रोकने के लिए NO भेजें।",
        "booked": (
            "बुकिंग हो गई। आपका बुकिंग नंबर {ref} है: {items}, {where}, {when}। कुल {price}, सैंपल के समय भुगतान। "
            "हम एक दिन पहले शाम को और एक घंटा पहले याद दिलाएँगे। फ़ास्टिंग टेस्ट के लिए रात 10 बजे के बाद कुछ न खाएँ; "
            "पानी पी सकते हैं।"
        ),
        "not_booked": "ठीक है, कुछ बुक नहीं हुआ। फिर शुरू करने के लिए MENU भेजें।",
        "slot_full": "यह समय अभी किसी और ने ले लिया। कृपया दूसरा चुनें:",
        "home_where": "घर पर ({pincode})",
        "dob": "रिपोर्ट निजी रखने के लिए, जिसकी रिपोर्ट है उसकी जन्मतिथि भेजें, जैसे 14-03-1968।",
        "dob_bad": "कृपया जन्मतिथि दिन-महीना-साल में भेजें, जैसे 14-03-1968।",
        "dob_wrong": "यह जन्मतिथि इस फ़ोन के रिकॉर्ड से मेल नहीं खाती। कृपया जाँचकर फिर भेजें।",
        "dob_locked": (
            "आपकी गोपनीयता के लिए अभी इस फ़ोन से और जन्मतिथियाँ नहीं जाँच सकते। कृपया वेबसाइट पर साइन इन करें या "
            "1800-000-000 पर कॉल करें।"
        ),
        "which_person": "कौन सा व्यक्ति?\n{lines}",
        "no_tests": "इस व्यक्ति का अभी कोई टेस्ट रिकॉर्ड में नहीं है।",
        "no_phone_records": "इस फ़ोन नंबर पर अभी कोई टेस्ट रिकॉर्ड में नहीं है। टेस्ट बुक करने के लिए BOOK भेजें।",
        "status_collected": "{tests}: {centre} पर सैंपल लिया गया, जल्द लैब जाएगा।",
        "status_in_transit": "{tests}: हमारी लैब के रास्ते में है।",
        "status_received_at_lab": "{tests}: हमारी लैब में है, अपनी बारी का इंतज़ार कर रहा है।",
        "status_processing": "{tests}: अभी जाँच हो रही है।",
        "status_completed": "{tests}: जाँच हो गई; पैथोलॉजिस्ट नतीजे देख रहे हैं।",
        "status_reported": "{tests}: आपकी रिपोर्ट तैयार है। वेबसाइट पर या हमारे भेजे संदेश से खोलें।",
        "status_rejected": "{tests}: हमें नया सैंपल चाहिए। हमारी टीम कॉल करके समय तय करेगी; चिंता की बात नहीं।",
        "status_recollection_requested": "{tests}: हमें नया सैंपल चाहिए। हमारी टीम कॉल करके समय तय करेगी।",
        "eta": " {when} तक आने की उम्मीद।",
        "call": " एक नतीजे के बारे में डॉक्टर कॉल कर सकते हैं; कृपया फ़ोन पास रखें।",
        "no_bookings": "आपकी कोई आने वाली बुकिंग नहीं है। टेस्ट बुक करने के लिए BOOK भेजें।",
        "bookings": "आपकी बुकिंग:\n{lines}\nबदलने या रद्द करने के लिए नंबर भेजें।",
        "manage": "बुकिंग {ref}, {when}।\n1 समय बदलें\n2 रद्द करें",
        "cancelled": "बुकिंग {ref} रद्द हो गई। कोई भुगतान नहीं। फिर बुक करने के लिए BOOK भेजें।",
        "rescheduled": "हो गया: बुकिंग {ref} अब {when} है। हम पहले याद दिलाएँगे।",
        "triage_tests": " डॉक्टर आमतौर पर इन टेस्ट से शुरू करते हैं: {tests}।",
        "triage_book": " टेस्ट या परामर्श बुक करने के लिए BOOK भेजें।",
        "triage_consult": " डॉक्टर से वीडियो पर बात करने के लिए: {url}",
        "yes_words": "हाँ",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    text = TEXTS.get(lang, TEXTS["en"]).get(key) or TEXTS["en"][key]
    return text.format(**values) if values else text
