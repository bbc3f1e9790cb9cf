"""The safety lexicon: normalisation, tolerant matching, and the data files themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalogue.nlu_check import NLU, Data, load
from catalogue.safety import (
    CATEGORIES,
    Lexicon,
    Phrase,
    SafetyError,
    card_topic,
    danger_in,
    default_lexicon,
    latin_key,
    normalise,
    pattern_words,
)


def nlu_examples() -> Data:
    """Every language's NLU examples, by intent, as children typed them."""
    return load(sorted(path.name for path in NLU.iterdir() if path.is_dir()))


def phrase(text: str, category: str = "emergency") -> Phrase:
    return Phrase(category, "en", text, tuple(pattern_words(text)))


def test_normalise_folds_case_marks_letter_variants_and_emphasis() -> None:
    assert normalise("HEEEELP me!!") == ["help", "me"]
    assert normalise("enfermée") == ["enfermee"]
    assert normalise("كيف حالك") == normalise("کیف حالک")
    assert normalise("می خواهم") == normalise("می\u200cخواهم") == normalise("میخواهم")
    # Bengali vowel signs are part of the word, not accents to drop
    assert normalise("বাংলায় লিখুন") == ["বাংলায়", "লিখুন"]


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("took my passport", "they took my passport", True),
        ("took my passport", "they took all my old passport", True),  # words between
        ("took my passport", "they took the bus with my friend and my passport", False),
        ("took my passport", "they took my pasport", True),  # a typo in a long word
        ("took my passport", "they tok my passport", False),  # but not in a short one
        ("keep* my passport", "he keeps my passport", True),
        ("hit* me", "the boss hitting me", True),
        ("hit* me", "me hit", False),  # order matters
        ("beaten", "i have not eaten", False),  # a lone word: no typo allowance
        ("hopeless", "i am homeless", False),
        ("took my passport", "they took my bassport", False),  # never the first letter
        ("dixwazim bimirim=", "dixwazim li vir biminim", False),  # = : exactly this word
        ("dixwazim bimirim=", "ez dixwazim bimirim", True),
        ("যৌন", "বাংলায় লিখুন", False),
        ("kick* me !out", "he kicks me every day", True),  # ! : not this word next
        ("kick* me !out", "they kicked me out of the camp", False),
        ("kick* me !out", "they kicked me out and then kicked me", True),
        ("kick* me !out", "kicked me", True),
        ("keep*|took|has my passport*|papers", "the man has my papers", True),  # | : any of
        ("keep*|took|has my passport*|papers", "he keeps all my passports", True),
        ("keep*|took|has my passport*|papers", "i have my papers", False),
        ("took|has my passport|papers", "he took my pasport", True),  # typo, per word
        ("owe|debt* money=|dollars", "i owe him money for the trip", True),
        ("owe|debt* money=|dollars", "i owe him monkey", False),
        ("lock* me !out|away", "they lock me away", False),  # ! before alternatives: none
        ("lock* me !out|away", "they lock me in", True),
        ("^call police", "call the police!!", True),  # ^ : the message starts with it
        ("^call police", "...call the police", True),
        ("^call police", "should i call the police", False),
        ("^call|phone police", "phone the police", True),
        # a leading ! : not among the three words before the phrase
        ("!phone*|bag fell in river", "my friend fell in the river", True),
        ("!phone*|bag fell in river", "my phone fell in the river", False),
        ("!phone*|bag fell in river", "the phone of him fell in the river", False),
        ("!phone*|bag fell in river", "my phone is ok but my friend fell in the river", True),
        ("!phone*|bag fell in river", "my bag fell and then my friend fell in the river", True),
    ],
)
def test_phrase_matching(pattern: str, text: str, found: bool) -> None:
    assert phrase(pattern).found_in(normalise(text)) is found


def test_the_most_serious_category_wins() -> None:
    lexicon = Lexicon([phrase("want to die", "feeling_distress"), phrase("has a knife")])
    found = lexicon.match("he has a knife and i want to die")
    assert found is not None and found.category == "emergency"


def test_every_language_file_names_every_category() -> None:
    lexicon = default_lexicon()
    for language in lexicon.languages():
        categories = {p.category for p in lexicon.phrases if p.language == language}
        assert categories == set(CATEGORIES), language


def test_malformed_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "xx.yml").write_text("language: xx\nphrases:\n  danger: [a]\n", encoding="utf-8")
    with pytest.raises(SafetyError):
        Lexicon.load(tmp_path)
    for bad in ("'!out'", "'!out !me help'"):  # what must not stand before needs words after
        (tmp_path / "xx.yml").write_text(
            f"language: xx\nphrases:\n  emergency: [{bad}]\n", encoding="utf-8"
        )
        with pytest.raises(SafetyError):
            Lexicon.load(tmp_path)
    (tmp_path / "xx.yml").write_text(
        "language: xx\nphrases:\n  emergency: ['call ^police']\n", encoding="utf-8"
    )
    with pytest.raises(SafetyError, match="only begin"):  # ^ anywhere else means nothing
        Lexicon.load(tmp_path)
    for bad in ("took|my|", "took|two-words passport", "took|!has passport"):
        (tmp_path / "xx.yml").write_text(
            f"language: xx\nphrases:\n  emergency: ['{bad}']\n", encoding="utf-8"
        )
        with pytest.raises(SafetyError, match="one word"):  # each alternative: one word
            Lexicon.load(tmp_path)


def test_alternatives_in_the_first_place_are_indexed() -> None:
    lexicon = Lexicon([phrase("keep*|took|has my passport"), phrase("locked in")])
    for text in ("he keeps my passport", "she took my passport", "he has my pasport"):
        found = lexicon.match(text)
        assert found is not None and found.phrase == "keep*|took|has my passport", text


def test_the_index_finds_what_trying_every_phrase_finds() -> None:
    """Every phrase and a quarter of the NLU examples: the indexed match equals trying all."""
    lexicon = default_lexicon()
    texts = [p.text for p in lexicon.phrases]
    for per_intent in nlu_examples().values():
        for lines in per_intent.values():
            texts += lines[::4]  # the exhaustive reference takes 2-3 ms a text
    assert len(texts) > 3000
    for text in texts:
        words = normalise(text)
        exhaustive = next((p for p in lexicon.phrases if words and p.found_in(words)), None)
        if exhaustive is None and any(re.search("[a-z]", w) for w in words):
            keys = [w if re.search("[\u0400-\u04ff]", w) else latin_key(w) for w in words]
            exhaustive = next((p for p in lexicon.romanised if p.found_in(keys)), None)
        found = lexicon.match(text)
        assert (found.phrase if found else None) == (exhaustive.text if exhaustive else None), text


def test_phrases_seldom_fire_on_ordinary_questions() -> None:
    """A guard against phrases so broad they alarm children asking ordinary things."""
    lexicon = default_lexicon()
    ordinary = fired = 0
    for per_intent in nlu_examples().values():
        for intent, lines in per_intent.items():
            if intent not in CATEGORIES:
                ordinary += len(lines)
                fired += sum(lexicon.match(line) is not None for line in lines)
    # the few that fire are questions that report harm too ("they took my documents")
    assert ordinary > 10000 and fired / ordinary < 0.003


# Lone phrases that are also frequent words of another language with the same
# meaning: abuse, suicide, depression, anxiety, porn; weapon(s), threat, knife,
# sex, sexual, depression and suicide in Arabic, Persian and Urdu.
COGNATES = {
    "abuse", "suicide", "depression", "anxiety", "porno",
    "اسلحه", "سلاح", "تهدید", "چاقو", "سکس", "جنسی", "افسردگی", "خودکشی",
}  # fmt: skip


def test_no_lone_phrase_is_an_everyday_word_of_another_language() -> None:
    """Every language's phrases meet every message: one word must not mean 'day' elsewhere.

    After folding, the English "gun" was the Turkish "gün" (day) and the Kurmanji
    "çek" (weapon) the Turkish "çek" (pull); wordfreq's lists of the languages it
    knows find such words.
    """
    import wordfreq

    lexicon = default_lexicon()
    lone = [p for p in lexicon.phrases if len(p.places) == 1]
    clashes = []
    for language in ("en", "fr", "tr", "ar", "fa", "ur", "ru", "uk"):
        frequent: set[str] = set()
        for word, frequency in wordfreq.get_frequency_dict(language, wordlist="small").items():
            if frequency >= 2e-5:  # about the 3,000 commonest words
                frequent.update(normalise(word))
        # a word no phrase matches needs no closer look; the others, phrase by phrase
        matched = {w for w in frequent - COGNATES if lexicon.match(w) is not None}
        for p in (p for p in lone if p.language != language):
            clashes += [(p.language, p.text, language, w) for w in matched if p.found_in([w])]
    assert not clashes


def test_every_language_file_asks_about_risks() -> None:
    lexicon = default_lexicon()
    assert {q.language for q in lexicon.questions} == lexicon.languages()
    asked = ("is it safe to drink the water here", "опасно ли тут плавать", "tehlikeli mi")
    assert all(lexicon.asks(text) for text in asked)
    said = ("it is dangerous here", "he is dangerous", "тут опасно", "burası tehlikeli")
    assert not any(lexicon.asks(text) for text in said)
    # no safety example of the NLU data is a question about a risk
    for per_intent in nlu_examples().values():
        for intent in CATEGORIES:
            assert not any(lexicon.asks(line) for line in per_intent.get(intent, [])), intent


def test_alternatives_are_single_words() -> None:
    """``|`` joins one-word alternatives for one place; no word comes back in a later place.

    Phrases written as if ``|`` joined several words ("tombé dans l'eau|la
    rivière", "پټ شوی یم|پټ یم") never matched what they were written for; a word
    repeated in two places of one phrase is how that shows.
    """
    repeated = []
    for p in default_lexicon().phrases:
        if "|" not in p.text:
            continue
        seen: set[str] = set()
        for word in p.words:
            alternatives = {w.strip("!^*=") for w in word.split("|")}
            if alternatives & seen:
                repeated.append((p.language, p.text))
            seen |= alternatives
    assert not repeated


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("khochu", "хочу"), ("hochu", "хочу"), ("xochu", "хочу"), ("zhit", "жить"),
        ("sebya", "себя"), ("sebja", "себя"), ("menya", "меня"),
        ("mena", "меня"), ("b'ye", "б'є"), ("bje", "б'є"), ("hroshi", "гроші"),
        ("groshi", "гроші"), ("shchob", "щоб"), ("tsei", "цей"), ("shvydko", "швидко"),
    ],
)  # fmt: skip
def test_cyrillic_and_its_latin_letters_share_a_key(typed: str, written: str) -> None:
    assert latin_key(normalise(typed)[0]) == latin_key(normalise(written)[0])


def test_cyrillic_phrases_match_in_latin_letters() -> None:
    """The Russian and Ukrainian phrases, typed in Latin letters; lone words stay Cyrillic."""
    lexicon = default_lexicon()
    assert lexicon.romanised and all(len(p.words) > 1 for p in lexicon.romanised)
    for text, category in [
        ("vsem budet luchshe bez menya", "feeling_distress"),  # better off without me
        ("vsim bude krashche bez mene", "feeling_distress"),
        ("luchshe bez sahara", None),  # better without sugar
        ("make sure there is a dial tone on the line", None),  # "тону" alone would be "tone"
    ]:
        found = lexicon.match(text)
        assert (found.category if found else None) == category, text


def test_danger_in_a_parse_and_the_answer_it_gets_first() -> None:
    assert danger_in({"safety": {"source": "lexicon", "category": "report_abuse"}}) == (
        "report_abuse"
    )
    assert danger_in({"safety": {"source": "intents", "category": "feeling_distress"}})
    assert danger_in({"safety": {"source": "check", "category": "emergency"}}) is None
    assert danger_in({"intent": {"name": "ask_food"}}) is None
    assert danger_in({"safety": {"source": "intent", "category": "ask_food"}}) is None
    assert card_topic("feeling_distress") == "feeling_distress"
    assert card_topic("report_exploitation") == card_topic("emergency") == "emergency"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Somali: a bed or a room alone is not danger, someone coming in is
        ("sariirtaydu way jaban tahay", None),  # my bed is broken
        ("qolkayga habeenkii qaylo badan baa ka dhacda", None),  # my room is loud at night
        ("habeenkii sariirtayda ayuu yimaadaa", "report_abuse"),  # he comes to my bed at night
        ("wiil ayaa qolkayga soo gala habeenkii", "report_abuse"),  # a boy comes into my room
        # French: having one's hair cut is not cutting oneself
        ("où je peux me faire couper les cheveux", None),
        ("je vais me couper ce soir", "feeling_distress"),
        ("j'ai envie de me couper encore", "feeling_distress"),
        # out in the cold is danger, cold weather is not
        ("i sleep outside in the cold", "emergency"),
        ("dışarıda soğukta uyuyorum", "emergency"),
        ("сплю на улице на морозе", "emergency"),
        ("waxaan seexdaa banaanka qabowga", "emergency"),  # I sleep outside in the cold
        ("is it cold outside today", None),
        ("dışarıda soğuk mu", None),
        ("на улице холодно", None),
        ("banaanka waa qabow", None),  # it is cold outside
        # a threat to any of the child's family, not only "my family"
        ("сказали що зашкодять моїй сестрі", "report_exploitation"),
        ("сказали что навредят моему брату", "report_exploitation"),
        ("куріння зашкодить здоров'ю", None),  # smoking harms health
        # ending one's life, said as such
        ("بدي انهي حياتي", "feeling_distress"),
        ("хочу покінчити з усім", "feeling_distress"),
        ("я покончу с жизнью", "feeling_distress"),
        ("hayatıma son vermek istiyorum", "feeling_distress"),
        ("আমি নিজেকে শেষ করে দেব", "feeling_distress"),
        ("غواړم خپل ژوند ختم کړم", "feeling_distress"),
        ("دەمەوێت کۆتایی بە ژیانم بهێنم", "feeling_distress"),
        ("ödevlerimi bitirdim, her şey tamam", None),  # homework done, all fine
        ("я закончил всё на сегодня", None),  # I finished everything for today
        # a marriage arranged for the child is danger, asking about marriage is not
        ("my dad wants to marry me off this summer", "report_exploitation"),
        ("አባቴ ሊድረኝ ይፈልጋል", "report_exploitation"),  # my father wants to marry me off
        ("ኣቦይ ከመርዕወኒ ይደሊ", "report_exploitation"),  # my father wants to marry me off
        ("باوکم دەیەوێت بمدات بە پیاوێک", "report_exploitation"),  # ... give me to a man
        ("родители хотят выдать меня замуж", "report_exploitation"),
        # Persian: ... wants to give me to an old man as husband (words between)
        ("پدرم میخواد منو به یه مرد خیلی پیر شوهر بده", "report_exploitation"),
        ("شوهر خواهرم بهم کار میده", None),  # my sister's husband gives me work
        ("can i marry my girlfriend when i am 18", None),
        ("можно ли жениться в 18", None),
        ("መቼ ማግባት እችላለሁ", None),  # when can I get married
        ("evlenmek için kaç yaşında olmak lazım", None),
        # cutting one's arm or hand again is self-harm; a finger while cooking is not
        ("я снова порезал руку", "feeling_distress"),
        ("لاس مې بیا پرې کړ", "feeling_distress"),  # I cut my hand/arm again
        ("እጄን እንደገና ቆረጥኩ", "feeling_distress"),  # I cut my hand/arm again
        ("i cut my finger again while cooking", None),
        ("порезал палец, когда готовил", None),
        # heavy bleeding and being forced into a vehicle, in the languages that lacked them
        ("у него кровотечение, кровь не останавливается", "emergency"),
        ("анализ крови нормальный", None),  # the blood test is normal
        ("вони силою посадили мене в машину", "emergency"),
        ("خوێنی زۆری لێ دەچێت", "emergency"),  # Sorani: a lot of blood is coming out
        ("xoog ayay igu geliyeen gaari", "emergency"),  # Somali: they forced me into a car
        ("je monte dans la voiture de mon tuteur", None),
        # one language's danger word that is another's everyday word, once accents fold
        ("her gün okula gidiyorum", None),  # Turkish: I go to school every day
        ("bütün gün ofiste bekledim", None),  # Turkish: I waited all day at the office
        ("a man with a gun is outside", "emergency"),
        ("he has gun", "emergency"),
        ("fotoğraf çek", None),  # Turkish: take a photo
        ("zilamek bi çek li derve ye", "emergency"),  # Kurmanji: a man with a weapon outside
        ("عمري تجاوز ١٨ سنة", None),  # Arabic: my age is over 18
        ("بهم تجاوز کرد", "report_abuse"),  # Persian: he assaulted me
        ("iş için dil kursu var mı", None),  # Turkish: a language course for work?
        ("waxaan doonayaa inaan is dilo", "feeling_distress"),  # Somali: I want to kill myself
        ("میتونم با جنس مقابل دوست بشم؟", None),  # Persian: friends with the opposite sex?
        ("طلب جنس مقابل اكل", "report_exploitation"),  # Arabic: sex in exchange for food
        ("هل انا بدون حقوق هون", None),  # Arabic: am I without rights here?
        ("بدون حقوق کار میکنم", "report_exploitation"),  # Persian: I work without pay
        # asking for the police to come is an emergency; asking about calling them is not
        ("call the police!!", "emergency"),
        ("please call the cops", "emergency"),
        ("send the police here now", "emergency"),
        ("should i call the police", None),
        ("am i allowed to call police", None),
        ("envoyez la police ici", "emergency"),
        ("je dois appeler la police ?", None),  # appeler, one letter from appelez
        ("пришлите полицию сюда", "emergency"),
        ("можно ли позвонить в полицию", None),
        ("polis çağırın lütfen", "emergency"),
        ("polis beni geri gönderir mi", None),  # will the police send me back?
        ("ابعتوا الشرطة لهون", "emergency"),  # Arabic: send the police here
        ("پلیس بفرستید اینجا", "emergency"),  # Persian: send the police here
        ("باید پلیس رو خبر کنم؟", None),  # Persian: should I tell the police?
        ("پولیس راوغواړم؟", None),  # Pashto: shall I call the police?
        ("polîs bişînin vir", "emergency"),  # Kurmanji: send the police here
        ("polîs dikarin min bişînin welatê min", None),  # ... can send me to my country
        ("ፖሊስ ላኩልኝ እዚህ", "emergency"),  # Amharic: send me the police here
        ("ፖሊስ ጥሩ ነው እዚህ?", None),  # Amharic: are the police good here?
        # swallowing a lot of pills is an emergency; taking one's medicine is not
        ("my friend took a whole bunch of pills", "emergency"),
        ("can i take two pills for my headache", None),
        ("mon pote a pris plein de cachets", "emergency"),
        ("le médecin m'a donné beaucoup de médicaments c'est normal", None),
        ("мой друг съел кучу таблеток", "emergency"),
        ("врач дал мне много лекарств это нормально", None),
        ("arkadaşım bir sürü ilaç içti", "emergency"),
        ("eczaneden bir kutu ilaç aldım", None),  # Turkish: I bought a box of medicine
        ("دوستم کلی قرص خورده", "emergency"),  # Persian: my friend took lots of pills
        ("دکتر کلی دارو بهم داده عادیه؟", None),  # ... the doctor gave me lots of medicine
        ("صاحبي اخد كمية كبيرة من الحبوب", "emergency"),  # Arabic: ... a large amount of pills
        ("فيني اخد حبتين للراس", None),  # Arabic: can I take two pills for my head?
        # the place where the child lives on fire, or full of smoke; heat, light and cigarettes
        ("our room is burning", "emergency"),
        ("my room is burning hot in summer", None),
        ("there is smoke everywhere in the camp", "emergency"),
        ("the boys smoke a lot in the room and i hate it", None),
        ("notre chambre brûle", "emergency"),
        ("ma chambre brûle de chaleur", None),
        ("наша комната горит", "emergency"),
        ("в комнате горит свет всю ночь", None),  # Russian: the light is on all night
        ("в комнате много дыма от сигарет", None),
        ("odamız yanıyor", "emergency"),  # Turkish: our room is burning
        ("odamda ışık yanıyor", None),  # Turkish: the light is on in my room
        ("الغرفة عم تحترق", "emergency"),  # Arabic: the room is burning
        ("ممكن دخن بالغرفة", None),  # Arabic: can I smoke in the room?
        ("همه جای کمپ دوده", "emergency"),  # Persian: smoke all over the camp
        ("ma famille est encore dans le camp en turquie", None),
        # someone hurt now: run over, stabbed, a seizure; cramps and broken-down cars are not
        ("my friend got hit by a car", "emergency"),
        ("моего друга сбила машина", "emergency"),
        ("arkadaşıma araba çarptı", "emergency"),
        ("صاحبي دعسته سيارة", "emergency"),  # Arabic: a car ran over my friend
        ("saaxiibkay gaari baa jiiray", "emergency"),  # Somali: a car hit my friend
        ("someone stabbed my friend", "emergency"),
        ("у друга судороги", "emergency"),
        ("судороги в ноге после футбола", None),  # Russian: cramps after football
        ("машина сломалась", None),  # Russian: the car broke down
        ("بدي طعن بالقرار", None),  # Arabic: I want to appeal the decision
        ("ደፈረኝ", "report_abuse"),  # Amharic: he raped me
        ("i am lost at night", "emergency"),
        ("he is choking and cant talk", "emergency"),
        ("داره خفه میشه", "emergency"),  # Persian: he is choking
        ("خفه شو", None),  # Persian: shut up
        ("хто допоможе з судом", None),  # Ukrainian: who helps with the court? (судоми: seizures)
        # phrases once written as if | joined several words, which matched nothing
        ("je suis tombé dans la rivière", "emergency"),
        ("je suis perdu dans la forêt", "emergency"),
        ("плачу каждую ночь", "feeling_distress"),
        ("хотят меня продать", "report_exploitation"),
        ("втомилася від усього", "feeling_distress"),
        ("kimse beni özlemez", "feeling_distress"),
        ("البلم غرق", "emergency"),  # Arabic: the boat sank
        ("بشتغل ببلاش", "report_exploitation"),  # Arabic: I work for nothing
        ("ما حدا بيحبني", "feeling_distress"),  # Arabic: nobody loves me
        ("منو فروختن", "report_exploitation"),  # Persian: they sold me
        ("شبها میاد توی اتاقم", "report_abuse"),  # Persian: at night he comes into my room
        ("پاسپورټ مې ساتي", "report_exploitation"),  # Pashto: he keeps my passport
        ("میرے پیچھے آ رہا ہے", "emergency"),  # Urdu: he is coming after me
        ("i iibiyay", "report_exploitation"),  # Somali: they sold me
        ("pasaporta min veşartin", "report_exploitation"),  # Kurmanji: they hid my passport
        ("সে শ্বাস নিচ্ছে না", "emergency"),  # Bengali: he is not breathing
        # Arabic writes "and" joined to the next word: a phrase still matches after it
        ("وما بيخلوني اطلع من البيت", "report_exploitation"),  # and they don't let me out
        ("ووين المدرسة", None),  # and where is the school
        # and spoken Arabic's present joined before the verb ("بيضربنا" is "يضربنا")
        ("الحارس بالليل بيضربنا", "report_abuse"),  # the guard beats us at night
        ("وبيضربنا", "report_abuse"),  # and he beats us
        ("بتعرف وين بيتي", None),  # do you know where my house is
        # a boat taking water, a kidney asked for, breathing, feeling a burden
        ("our dinghy is taking water", "emergency"),
        ("can i fill my water bottle on the boat", None),
        ("doonideenu biyo ayay la buuxsantay", "emergency"),  # Somali: our boat filled with water
        ("waxaan doonayaa biyo", None),  # Somali: I want water (doon-: to want)
        ("he wants me to sell my kidney for the debt", "report_exploitation"),
        ("my kidney hurts, where is a doctor", None),
        ("böbreğimi satmamı istiyorlar", "report_exploitation"),  # they want me to sell my kidney
        ("böbreğim ağrıyor, ilaç verirler mi", None),  # my kidney hurts, do they give medicine
        ("میگه کلیه‌ام رو بفروشم", "report_exploitation"),  # Persian: he says sell my kidney
        ("باید کلیه مدارک را بدم؟", None),  # Persian: must I give all the papers? (کلیه: all)
        ("j'arrive pas à respirer", "emergency"),
        ("je suis essoufflé après le foot", None),
        ("আমি না থাকলে সবাই ভালো থাকবে", "feeling_distress"),  # all would be well without me
        ("আমি না থাকলে কাকে জানাব", None),  # if I am not there, whom do I tell
        ("i want to take a lot of pills", "feeling_distress"),
        ("the doctor gave me a lot of pills, when do i take them", None),
        ("اتصل بالشرطة", "emergency"),  # Arabic: call the police
        ("الحقوني حدا يتصل بالشرطة", "emergency"),  # help, someone call the police
        ("فيني اتصل بالشرطة اذا ضاع تلفوني؟", None),  # can I call the police if I lose my phone?
        # a threat to come where the child sleeps, recruitment, a bed for sex, a
        # hand caught in a machine, starving oneself: and the same words in ordinary use
        ("they wrote me we know where you live", "emergency"),
        ("do you know where i can sleep tonight", None),
        ("my hand is stuck in the machine", "emergency"),
        ("the coffee machine is stuck, who can fix it", None),
        ("he wants me to go and fight for them", "report_exploitation"),
        ("can i do boxing, i like to fight", None),
        ("onunla yatarsam odayı verecekmiş", "report_abuse"),  # if I sleep with him, the room
        ("bu gece arkadaşımın evinde yatabilir miyim", None),  # may I stay at my friend's tonight
        ("i dont deserve food", "feeling_distress"),
        ("i don't eat pork, is the food halal", None),
        # poison or a cleaning product drunk; a threat for the family's honour; being
        # sold on; pills to work on; voices telling the child to die: and the same words
        # in ordinary use
        ("my little brother drank bleach", "emergency"),
        ("i drank water after cleaning the kitchen", None),
        ("i ate a kebab, is it food poisoning", None),
        ("ağabeyim çamaşır suyu içti", "emergency"),  # my brother drank bleach
        ("meyve suyu içti mi", None),  # did he drink fruit juice
        ("ብዙ ፈሳሽ ጠጣ ብሎ ሐኪሙ ነገረኝ", None),  # Amharic: the doctor told me to drink much fluid
        ("my father will beat her for the honour", "report_abuse"),
        ("abim namusu için beni öldürür", "report_abuse"),  # my brother would kill me for honour
        ("le passeur m'a vendu à des hommes", "report_exploitation"),
        ("il m'a vendu un vieux vélo", None),  # he sold me an old bike
        ("telefonumu bir arkadaşıma sattım", None),  # I sold my phone to a friend
        ("the boss gives us drugs to stay awake", "report_exploitation"),
        ("can i take my asthma pills to work", None),
        ("голоса в голове говорят убить себя", "feeling_distress"),  # voices say kill yourself
        ("в комнате ночью громкие голоса", None),  # loud voices in the room at night
        ("he makes me do things i don't want at night", "report_abuse"),
        ("мама змушує мене робити домашку", None),  # mum makes me do my homework
        # a smell of gas is an emergency; cooking with gas is not
        ("it smells like gas in our room", "emergency"),
        ("can we cook with gas in the centre", None),
        ("в комнате пахнет газом", "emergency"),
        ("газовая плита не работает", None),  # the gas cooker does not work
        # Kurmanji: "çek" (weapon) folds like "çêk-" (to make): only the weapon's own forms
        ("ew bi çekan hatin", "emergency"),  # they came with weapons
        ("ez dikarim bi xwe xwarinê çêkim", None),  # can I cook food myself
        # Arabic: "marry me off" exactly; "visit me" is one letter away
        ("ابي بدو يزوجني", "report_exploitation"),  # my father wants to marry me off
        ("ابن عمي بدو يزورني", None),  # my cousin wants to visit me
        # thoughts of dying, however asked; thoughts of exams stay ordinary
        ("how do i stop thinking about suicide", "feeling_distress"),
        ("i think about my exams all the time", None),
        ("her gece ölümü düşünüyorum", "feeling_distress"),  # every night I think of death
        ("sınavı düşünüyorum", None),  # I think about the exam
        # a voice that says "die", in Pashto and Sorani
        ("هغوی راته وايي مړ شه", "feeling_distress"),  # they tell me: die
        ("هەموو شەو پێم دەڵێن بمرە", "feeling_distress"),  # every night they tell me: die
        # typed in Latin letters, beside the same words in an ordinary question
        ("ne khochu zhit bolshe", "feeling_distress"),  # Russian: I don't want to live any more
        ("hozyain zabral moi dokumenty", "report_exploitation"),  # the boss took my papers
        ("u menya pasport prosrochen, chto delat", None),  # my passport has expired
        ("vin b'ye mene kozhnoho vechora", "report_abuse"),  # Ukrainian: he beats me every evening
        ("de kupyty remin", None),  # where to buy a belt
        ("ma baddi 3ish", "feeling_distress"),  # Arabizi: I don't want to live
        ("baddi 3ish b almanya", None),  # I want to live in Germany
        ("sa3idouni sari3 fi 7ada bara", "emergency"),  # help me quickly, someone is outside
        ("dige mikhaam bemirom", "feeling_distress"),  # Finglish: I want to die now
        ("dar ro baz kon", None),  # open the door
        ("kamarband arzoon koja bekharam", None),  # where do I buy a cheap belt
        ("zah ghwaram che mr sham", "feeling_distress"),  # Pashto: I want to die
        ("za ghwaram che German ta lar sham", None),  # I want to go to Germany
        ("koi mujhe roz maarta hai", "report_abuse"),  # Urdu: someone beats me every day
        ("belt kahan milegi", None),  # where can I get a belt
        ("ami r bachte chai na", "feeling_distress"),  # Bengali: I don't want to live any more
        ("i want more chai with milk", None),  # "more" (die) is English too
        ("rasen megdel ifelgalehu", "feeling_distress"),  # Amharic: I want to kill myself
        ("yale kfiya eseralehu", "report_exploitation"),  # I work without pay
        ("yale kfiya hakim yet agegnalehu", None),  # where is a doctor free of charge
        ("nersey kqtl hasibe", "feeling_distress"),  # Tigrinya: I thought of killing myself
        ("bzey kfilit timhrti ale do", None),  # is there school free of charge
        ("damawe bmrm", "feeling_distress"),  # Sorani: I want to die
        ("damawe bchm bo germanya", None),  # I want to go to Germany
        # Somali: a belt used to hit is danger, a belt is not
        ("suun buu igu garaacaa", "report_abuse"),
        ("xagee laga iibsadaa suun", None),
        # Latin letters: pills, not waking, bleeding, photos of the body, a threat about the police
        ("kheili ghors khorde va bidar nemishe", "emergency"),  # many pills, won't wake
        ("sobh bidar nemisham baraye madrese", None),  # I don't wake up for school
        ("usne bohat goliyan kha li", "emergency"),  # Urdu: he swallowed lots of pills
        ("sar dard ki goli kahan milegi", None),  # where do I get a headache pill
        ("nak theke rokto porche thamche na", "emergency"),  # Bengali: bleeding that won't stop
        ("rokto porikkha kothay kori", None),  # where do I get a blood test
        ("kehta hai agar police gaye to maar dunga", "report_exploitation"),  # police: I kill you
        ("police station kahan hai", None),
        ("on prosit foto moego tela", "report_abuse"),  # Russian: he asks for photos of my body
        ("foto dokumentov dlya advokata", None),  # photos of documents for the lawyer
        # the police or a guard as the one who beat (feminine: поліція била нас)
        ("поліція на кордоні била нас", "report_abuse"),
        ("поліція на кордоні забрала наші телефони", None),
        ("охранник бил нас ночью", "report_abuse"),
        ("охранник будил нас рано", None),  # the guard woke us early
        # Sorani: a fire has broken out (the perfect), smoke in every place
        ("ئاگر لە ماڵەکەمان کەوتووەتەوە", "emergency"),
        ("دووکەڵ لە هەموو شوێنێکە", "emergency"),
        ("ئاگادارکەرەوەی دووکەڵ دەزرنگێتەوە", None),  # the smoke alarm beeps
        # sleeplessness alone is left to the classifiers: a noisy or cold room keeps children awake
        ("i cant sleep, the heater in my room is broken", None),
        ("не могу спать, в комнате холодно", None),
        ("soğuktan uyuyamıyorum, battaniye var mı", None),
        # a burden said of oneself, not the wish not to be one
        ("i'm just a burden to them", "feeling_distress"),
        ("i don't want to be a burden, can i clean my own room", None),
        ("انا عبء على اهلي", "feeling_distress"),
        ("ما بدي كون عبء على حدا، بدي اشتغل", None),
        ("میں سب پر بوجھ بن گیا ہوں", "feeling_distress"),
        ("میں کسی پر بوجھ نہیں بننا چاہتا", None),
        # a fire in a place named, not a fire to cook on
        ("a fire in the kitchen of the hostel", "emergency"),
        ("where can we make a fire in the forest for tea", None),
        # someone who fell into water, not a thing
        ("my little brother fell into the sea", "emergency"),
        ("my keys fell into the water, who can help me get them", None),
        ("мой друг упал в реку", "emergency"),
        ("мой телефон упал в воду, где починить", None),
        ("kardeşim denize düştü", "emergency"),
        ("telefonum suya düştü tamir olur mu", None),
        ("برادرم افتاد توی رودخانه", "emergency"),
        ("گوشیم افتاد توی آب، درست میشه", None),
        ("ሓወይ ናብ ባሕሪ ወዲቑ", "emergency"),  # Tigrinya: my brother fell into the sea
        ("ሞባይለይ ናብ ሩባ ወዲቑ", None),  # my phone fell into the river
        ("ወንድሜ ባህር ውስጥ ወደቀ", "emergency"),  # Amharic: my brother fell into the sea
        ("ስልኬ ውሃ ውስጥ ወደቀ", None),  # my phone fell into water
        ("walaalkay wuxuu ku dhacay badda", "emergency"),  # Somali: my brother fell into the sea
        ("taleefankaygu wuxuu ku dhacay biyaha", None),  # my phone fell into the water
        ("birayê min ket deryayê", "emergency"),  # Kurmanji: my brother fell into the sea
        ("telefona min ket çem", None),  # my phone fell into the river
        ("براکەم کەوتە ناو دەریا", "emergency"),  # Sorani: my brother fell into the sea
        ("مۆبایلەکەم کەوتە ناو ئاوەکە", None),  # my phone fell into the water
        # money a man gives, not the change back
        ("bir adam bana para veriyor, kimseye söyleme diyor", "report_abuse"),
        ("kasiyer bana para üstü vermedi", None),  # the cashier gave me no change
        # the family threatened as a group's ("our families"), not the family's news
        ("they said they will hurt our families back home", "report_exploitation"),
        ("can i call our family back home from the centre", None),
        ("ailelerimize zarar vereceklerini söylediler", "report_exploitation"),
        ("ailemize para göndermek istiyoruz", None),  # we want to send our families money
        ("они сказали что навредят нашим семьям", "report_exploitation"),
        ("как отправить деньги нашим семьям", None),
        ("اللي جابونا قالو رح يأذو عيلتنا", "report_exploitation"),
        ("بدي احكي مع عيلتنا بالبلد", None),
        # made to sleep in an adult's bed, not a bed of one's own or a brother's
        ("he makes me sleep in his bed", "report_abuse"),
        ("my brother is away, can i sleep in his bed", None),
        ("mon cousin me force à dormir dans son lit", "report_abuse"),
        ("je peux avoir mon propre lit", None),
        ("yatağında uyumaya zorluyor beni", "report_abuse"),
        ("kendi yatağım olabilir mi", None),
        # a voice that tells the child to hurt himself; a question about football
        ("a voice says hurt yourself", "feeling_distress"),
        ("did you hurt yourself at football", None),
        ("голос каже завдати собі шкоди", "feeling_distress"),
        ("بدي أأذي حالي", "feeling_distress"),  # the hamza on alef, as on a phone
        ("ez dikarim pere ji dayika xwe re bişînim", None),  # Kurmanji: send money, not hurt
        # Turkish: not breathing, once a phrase of three places that matched nothing
        ("arkadaşım nefes almıyor", "emergency"),
        ("otobüs hareket etmiyor, geç kalacağım", None),  # the bus does not leave
        # phrases once written as if | joined several words: each now matches what it lists
        ("he says keep it secret", "report_abuse"),
        ("je suis fatigué de vivre", "feeling_distress"),
        ("je suis fatigué du voyage", None),
        ("un homme m'a offert des cadeaux", "report_abuse"),
        ("l'homme du guichet m'a rendu l'argent", None),  # the clerk gave the money back
        ("хочуть мене продати", "report_exploitation"),
        ("زندگیم معنی نداره", "feeling_distress"),  # Persian: my life has no meaning
        ("ورقه معنی نداره", None),  # the form makes no sense
        ("حياتي ما الها معنى", "feeling_distress"),
        ("فاتت المي عالقارب", "emergency"),  # water came into the boat
        ("they want my kidney for money", "report_exploitation"),
        ("je travaille pour rien", "report_exploitation"),
        ("they promised work but now i cannot leave the farm", "report_exploitation"),
        ("মালিক আমার বেতন রেখে দেয়", "report_exploitation"),  # the owner keeps my pay
        ("আমি কি বেতন পাই না ছুটির দিনে", None),  # is there no pay on holidays?
        ("میگه اگه نه بگم بهم آسیب میزنه", "report_exploitation"),  # if I say no he'll hurt me
        # said of "us", as children in a group write, and the harm already done (2026-12-08)
        ("someone is banging on our door", "emergency"),
        ("мы работаем за еду", "report_exploitation"),
        ("мы должны за дорогу", "report_exploitation"),
        ("мы должны за квартиру заплатить", None),  # we must pay for the flat
        ("bir adam dün gece bana zarar verdi", "report_abuse"),
        ("bu ilaç bana zarar verir mi", None),  # can this medicine harm me?
        ("merkez bize para veriyor", None),  # the centre gives us money
        ("my cousin comes to my bed at night", "report_abuse"),
    ],
)
def test_danger_phrases_and_the_everyday_words_beside_them(text: str, category: str | None) -> None:
    found = default_lexicon().match(text)
    assert (found.category if found else None) == category
