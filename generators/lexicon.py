"""Word lists of this domain: ownership verbs, cardinality words, the platform's own words, people.

Pure data, no logic: the grammar comes from the tagger in generators.language, the rules from
generators.intent_parser. Everything English in general (tags, lemmas, plurals) is the library's.
"""

from __future__ import annotations

__all__ = [
    "CALENDAR_NAMES",
    "CHOICE_VERBS",
    "GATHERING_VERBS",
    "GENERIC_NOUNS",
    "HAVE_VERBS",
    "LET_VERBS",
    "MANY_WORDS",
    "MEMBER_VERBS",
    "MOTION_VERBS",
    "PERIODS",
    "PERSON_NOUNS",
    "PRODUCT_HEADS",
    "RECORDING_VERBS",
    "SHARING_VERBS",
    "SINGLE_WORDS",
    "SOFTWARE_HEADS",
    "TITLE_NOUNS",
    "WEEKDAYS",
    "words",
]


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text` as a set: keeps long word lists readable."""
    return frozenset(text.split())


SINGLE_WORDS = words("a an one each every single")
"""Determiners that say 'exactly one' of the noun after them."""

MANY_WORDS = words("many multiple several numerous various lots more hundreds thousands dozens millions")
"""Quantifiers that make a relationship one-to-many from the side that has them."""

HAVE_VERBS = words("have contain include hold store list carry keep record track consist comprise capture specify note")
"""Verbs after which the intent names attributes or parts: 'an invoice has a number and line items'."""

RECORDING_VERBS = words("record track log capture store list note")
"""Verbs of having by which a person writes down things about another thing: 'the vets record health checks
for animals' (the checks are the animals'), while 'each visit records treatments' holds them."""

SHARING_VERBS = words(
    "attend enrol enroll reserve score review rate like follow save bookmark favourite favorite accept use "
    "visit watch subscribe star"
)
"""Verbs by which many take part in a thing that exists on its own: 'members attend events' is many-to-many."""

CHOICE_VERBS = words("choose select opt")
"""Verbs by which the subject takes one of things that exist on their own: 'a backer chooses a reward tier'
(a tier is chosen by many backers); 'customers choose products' is many-to-many."""

MEMBER_VERBS = words("join")
"""Verbs that make the subject a member of one object: 'hackers join a team' (a team has many hackers)."""

GATHERING_VERBS = words("group organise organize gather collect combine bundle merge consolidate sort pool batch")
"""Verbs that put many things into one: 'properties are grouped into estates' (an estate has many properties),
where 'accessions are split into samples' divides each into many."""

MOTION_VERBS = words("come go point lead return arrive move flow")
"""Verbs of going from or to a place: 'finds come from a context', 'invoices go to the law firm' (each from or to
one)."""

LET_VERBS = words("let allow help enable permit want need require ask invite")
"""Verbs whose object is the subject of the next verb: 'lets owners register pets'."""

GENERIC_NOUNS = words("""
    service system platform app tool software solution way data information info detail tenant multitenant ui
    interface api dashboard portal website web saas thing stuff lot everything something time day week month
    year date range period hour minute fortnight quarter morning afternoon evening night weekend weekday today
    tonight tomorrow yesterday end
    monday tuesday wednesday thursday friday saturday sunday
    history audit trail log webhook search archive trash change update workflow
    process feature
    functionality option ability need kind type number amount set report analytics overview summary
    status state access support card cash email phone sms money online help backend frontend database
    screen view delete deletion soft restore undo export text error latency availability uptime
    performance security backup slo percentile ms rate management desk front tracking handling reporting
    login sso reminder notification moderation bot kubernetes redis cache kafka postgres postgresql graphql
    microservice console cloud ios android sync yaml json xml csv pdf html spreadsheet excel usage integration
    gateway bucket blob side gps other public
    metre meter litre liter kilogram kilo kg gram tonne kilometre km mile inch centimetre millimetre
    """)
"""Nouns that never become an entity by themselves: the platform, its plumbing and its audience.

Some of these are pattern names: a pattern match still makes them entities; being generic only
stops an unmatched noun from being promoted."""

PERIODS = words("hour day night week fortnight month quarter term year")
"""Periods of time: 'one season per year' is one in each of them, 'paid per month' counts no thing. A season is a thing
of its own in a league ('a league runs one season per year')."""

WEEKDAYS = words("monday tuesday wednesday thursday friday saturday sunday")
"""Days of the week: 'each Sunday' is a time, 'the Saturday sessions' are sessions."""

CALENDAR_NAMES = WEEKDAYS | words(
    "january february march april may june july august september october november december christmas easter halloween"
)
"""Names of days, months and feasts: proper names that qualify things of the domain ('Christmas pre-orders')."""

SOFTWARE_HEADS = words("app platform portal dashboard api backend saas software website crm erp hub helpdesk solution")
"""Product words that name software even in the plural ('iOS and Android apps'); the other product words in the
plural name things the product keeps ('carry out services and repairs', 'plots on our sites')."""

PRODUCT_HEADS = words(
    "service app application platform system tool portal saas software solution api backend tracker "
    "marketplace crm erp hub dashboard website site helpdesk directory planner scheduler"
)
"""Nouns that name the product itself: 'an invoicing service', 'a fleet maintenance tracker'."""

PERSON_NOUNS = words("""
    person people customer client contact patient doctor owner student instructor attendee member employee
    driver user agent guest diner volunteer renter lessee landlord traveller traveler passenger visitor
    player coach athlete candidate applicant author reader writer buyer seller vendor host organizer organiser
    speaker teacher tutor learner trainee nurse therapist technician mechanic courier rider donor parent child
    resident subscriber borrower lender manager worker contractor freelancer consultant beekeeper gardener
    vet veterinarian dentist hygienist photographer inspector keeper clerk officer caseworker administrator
    engineer analyst staff physician surgeon pharmacist receptionist dispatcher planner scientist researcher
    """)
"""Nouns for people: their name, phone and address attributes are personal data (pii)."""

TITLE_NOUNS = words(
    "book article post page course song film movie episode report story chapter album recipe lesson document "
    "podcast video playlist task issue paper thesis poem exhibition"
)
"""Nouns whose default label attribute is a title rather than a name."""
