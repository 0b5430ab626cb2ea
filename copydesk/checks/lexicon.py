"""Word lists the grounding and subject checks read (English, lower case): common words that
are never names by themselves, words that tell a place, a street or a date, number words.

No gazetteer: no list of towns, streets or brands. A capitalised word is a name unless it is
one of the common words below (and then only where a capital says nothing: at the start of
a sentence, a line or a list item), so a name the lists do not know is caught all the same."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words: never a name on their own, wherever they stand and however written.
STOP = _words(
    """
    a an the and or but nor so yet if then than as of at by for from in into onto on off
    to up down over under out with within without about above across after against along
    amid among around before behind below beneath beside besides between beyond despite
    during except inside near outside past per since through throughout till toward towards
    until upon via whether while whilst although though because unless where wherever when
    whenever which who whom whose what whatever whichever how why that this these those
    there here it its it's itself i i'm i've i'd me my mine myself we we're our ours us you
    you're your yours he him his she her hers they they're them their theirs themselves one
    ones is are was were be been being am do does did done have has had having will would
    shall should can could may might must not no yes nor all any both each either neither
    every few many much more most less least other others another such same some several
    own only just also too very quite rather really so even still ever never always often
    again once now however therefore thus hence moreover furthermore also indeed instead
    otherwise meanwhile overall please let let's isn't aren't wasn't weren't don't doesn't
    didn't won't wouldn't can't cannot couldn't shouldn't hasn't haven't hadn't there's
    here's that's what's who's o ok okay etc e.g i.e vs you'll we'll they'll it'll we've
    they've you've we'd they'd you'd north south east west northern southern eastern
    western northeast northwest southeast southwest
    """
)

# Content words common at the start of a sentence in descriptions of things and places:
# capitalised there only because they come first.
STARTERS = _words(
    """
    located situated set found based placed nestled tucked sitting sits lying lies
    serving serves served offering offers offered providing provides featuring features
    boasting boasts welcoming welcomes come visit try enjoy discover explore choose pick
    find look looking check head stop grab get take make made meet bring go see eat dine
    drink order book sample taste treat relax unwind experience expect keep use wash
    designed crafted built woven knitted cut shaped finished available perfect ideal great
    good nice lovely fine excellent decent fair poor bad low high average moderate cheap
    affordable expensive pricey reasonably reasonable budget price prices pricing priced
    cost costs value food foods meal meals dish dishes menu cuisine drinks coffee tea
    breakfast lunch dinner customers customer diners diner guests guest visitors visitor
    patrons people everyone everybody anyone anybody someone somebody nobody none
    families family children child kids kid adults adult parents couples friends groups
    rated rating ratings reviews reviewed reviewers scores score stars star
    place venue spot establishment restaurant restaurants pub pubs bar bars cafe cafes
    coffee shop shops inn eatery diner bistro area areas location locations neighbourhood
    neighborhood city town centre center riverside river waterfront downtown
    not also additionally plus furthermore moreover however unfortunately sadly luckily
    fortunately surprisingly although though though despite besides alternatively
    still overall basically generally typically usually currently recently newly
    simply just only even well yes no sure true indeed certainly definitely
    close next just right directly adjacent opposite nearby near
    being having getting going doing known seen given taken shown grown hidden run owned
    style stylish cosy cozy comfortable soft warm cool quiet busy small large big little
    new old modern classic traditional simple plain friendly welcoming casual
    it its this that these those there here such each every both either neither
    every our your their his her my we you they he she i
    made crafted perfect great ideal easy sturdy durable lightweight light heavy
    add give gives keep keeps fits fit works work comes stays holds hold weighs measures
    folds stacks packs charges cleans lasts includes contains
    each set pack includes included including with without
    dimensions colours colors colour color materials material size sizes features
    brand category price item items product products range collection
    hello hi hey wow welcome join note notice please previous previously somewhere
    anywhere everywhere everything nothing something caters normal normally regular
    complaints complaint entertainment ambient ambience atmosphere service staff
    """
)

# A name may run through these ("Taste of Cambridge", "Hearth & Loom" has no word between).
CONNECTORS = _words("of the de la le du del da di der von van upon y")

# Lower-case words that place a thing somewhere; flagged unless the record or the content
# type's vocabulary has them ("on the high street", "by the harbour", "near the station").
PLACE_NOUNS = _words(
    """
    street streets road roads avenue avenues lane lanes boulevard square plaza parade
    highway motorway alley quay quayside harbour harbor marina pier port docks beach
    beaches shore shores coast coastline seafront seaside bay lake lakes lakeside loch
    mountain mountains hill hills valley valleys forest woods island islands park parks
    station airport cathedral church castle museum university college campus stadium
    market marketplace mall cinema theatre theater hospital library village villages
    suburb suburbs county countryside
    """
)
STREET_NOUNS = _words(
    """
    street st road rd avenue ave lane boulevard square plaza parade highway motorway alley
    way walk row crescent drive terrace close mews quay quayside corner
    """
)
PLACE_WORDS = _words(  # the last word of a capitalised name that makes it a place
    """
    mountains mountain hills hill river lake loch valley bay island islands forest park
    coast beach city town village county district quarter heights fields green common
    """
)
# Lower-case words that date or time something.
DATE_WORDS = _words(
    """
    spring summer autumn winter weekend weekends weekday weekdays midnight noon tonight
    """
)
MONTHS_AND_DAYS = _words(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays
    thursdays fridays saturdays sundays christmas easter
    """
)
# Number words (not "one": "one of the", "the one"); word ordinals from "third" (not
# "first", "second": "first-class", "a second visit").
UNITS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
LARGE = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "dozen": 12, "half": 0.5}
ORDINALS = {
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "twentieth": 20,
    "thirtieth": 30,
    "fiftieth": 50,
    "hundredth": 100,
}
# Units of measure, each spelling to one name: a quantity is supported when the record
# states its number and measures in its unit ("2 kg" is not "2 cm").
UNIT_WORDS = {
    spelling: unit
    for unit, spellings in {
        "mm": "mm millimetre millimetres millimeter millimeters",
        "cm": "cm centimetre centimetres centimeter centimeters",
        "m": "m metre metres meter meters",
        "km": "km kilometre kilometres kilometer kilometers",
        "g": "g gram grams gramme grammes",
        "kg": "kg kilo kilos kilogram kilograms",
        "ml": "ml millilitre millilitres milliliter milliliters",
        "l": "l litre litres liter liters",
        "oz": "oz ounce ounces",
        "lb": "lb lbs pound-weight",
        "inch": "inch inches",
        "ft": "ft foot feet",
        "mile": "mile miles",
        "w": "w watt watts",
        "v": "v volt volts",
        "mah": "mah",
        "gb": "gb tb mb",
        "degree": "degree degrees °c °f",
        "hour": "hour hours hr hrs h",
        "minute": "minute minutes min mins",
        "day": "day days",
        "week": "week weeks",
        "month": "month months",
        "year": "year years yr yrs",
        "percent": "percent per cent",
    }.items()
    for spelling in spellings.split()
}
NUMBER_WORDS = {**UNITS, **TENS, **LARGE, **ORDINALS, "one": 1, "first": 1, "second": 2}
