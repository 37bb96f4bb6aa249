"""Word lists the analyst reads intents with: function words, business verbs, generic nouns.

Pure data, no logic: the rules live in generators.language and generators.intent_parser.
The lists are small on purpose; a word that is missing is read as a noun.
"""

from __future__ import annotations

__all__ = [
    "ADJECTIVES",
    "AUXILIARIES",
    "CONJUNCTIONS",
    "DETERMINERS",
    "GENERIC_NOUNS",
    "HAVE_VERBS",
    "IRREGULAR_PAST",
    "LET_VERBS",
    "MANY_WORDS",
    "NEGATIONS",
    "NOT_PARTICIPLES",
    "NOUNISH_VERBS",
    "PERSON_NOUNS",
    "PREPOSITIONS",
    "PRODUCT_HEADS",
    "PRONOUNS",
    "RELATIVES",
    "SINGLE_WORDS",
    "TITLE_NOUNS",
    "VERBS",
    "words",
]


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text` as a set: keeps long word lists readable."""
    return frozenset(text.split())


DETERMINERS = words(
    "a an the each every all any some their its his her our your my this these those another other "
    "no one single its own both either neither"
)
SINGLE_WORDS = words("a an one each every single")
"""Determiners that say 'exactly one' of the noun after them."""

MANY_WORDS = words("many multiple several numerous various lots")
"""Quantifiers that make a relationship one-to-many from the side that has them."""

PREPOSITIONS = words(
    "of for to from with by in on at into onto about via through between across under over within without "
    "after before during against among per as like upon around behind beside near toward towards"
)
CONJUNCTIONS = words("and or plus nor but")
RELATIVES = words("who which that whose whom where when whenever while so because if once")
PRONOUNS = words(
    "they them it he she we you i us him there here itself themselves everyone everybody anyone anybody someone "
    "something everything nothing what"
)
AUXILIARIES = words(
    "is are was were be been being am can could will would should shall must may might do does did get gets got cannot"
)
NEGATIONS = words("not no never without cannot dont don't doesnt doesn't")

HAVE_VERBS = words("have contain include hold store list carry keep record track consist comprise capture")
"""Verbs after which the intent names attributes or parts: 'an invoice has a number and line items'."""

LET_VERBS = words("let allow help enable permit want need require ask invite")
"""Verbs whose object is the subject of the next verb: 'lets owners register pets'."""

VERBS = words("""
    accept access add adjust administer admit allocate allow answer apply appoint approve archive arrange ask
    belong downgrade leave relate study upgrade work
    assess assign attach attend audit authorize author award bill block book borrow browse buy calculate call
    cancel capture carry catalog catalogue categorize change charge chat check choose claim clean close
    collect comment complete compose conduct configure confirm connect consist contain contact control cook
    coordinate comprise create deliver delete deploy deposit describe design dispatch distribute donate
    drive earn edit email employ enable enroll enrol enter escalate estimate evaluate examine exchange expect
    export fill file find finish fix follow forward fulfil fulfill generate give grade grant handle have help
    hire hold host import include inspect install invite invoice issue join keep label lead lease lend let
    like link list load lodge log maintain make manage mark match measure meet monitor move need notify note
    offer open operate order organise organize own pack participate pay perform permit pick place plan plant
    post prepare prescribe price print process produce provide publish purchase quote raise rate read receive
    record redeem refer refund register reject release remind renew rent repair reply report request require
    reserve resolve respond return review ride run schedule score see sell send serve service ship sign
    source specify split sponsor staff start stock store submit subscribe supervise supply support take teach
    tell test ticket track trade train transfer transport treat update upload use verify view visit vote
    want watch write
    """)
"""Base forms of the verbs intents use between two business objects."""

NOUNISH_VERBS = words("""
    access archive audit bill book call leave change charge chat check claim comment contact deposit design email
    estimate file fix help hire invoice issue label lease lead list load log match note offer order plan plant
    post price print process quote rate record release rent repair reply report request return review ride
    schedule score service ship sign source staff stock store supply support test ticket track trade
    transfer visit vote watch
    """)
"""Verbs that are also common nouns: read as verbs only where the sentence needs a verb there."""

IRREGULAR_PAST = {
    "paid": "pay",
    "made": "make",
    "sent": "send",
    "written": "write",
    "wrote": "write",
    "taken": "take",
    "took": "take",
    "held": "hold",
    "given": "give",
    "gave": "give",
    "sold": "sell",
    "bought": "buy",
    "kept": "keep",
    "driven": "drive",
    "drove": "drive",
    "lent": "lend",
    "led": "lead",
    "met": "meet",
    "run": "run",
    "ran": "run",
    "chosen": "choose",
    "read": "read",
    "seen": "see",
    "taught": "teach",
    "told": "tell",
    "found": "find",
    "built": "build",
    "ridden": "ride",
    "had": "have",
    "done": "do",
}

NOT_PARTICIPLES = words("bed need seed feed speed breed shed red hundred shred embed sled")
"""Words ending in -ed that are not verb forms."""

ADJECTIVES = words("""
    new old recurring monthly weekly daily yearly annual quarterly online offline digital multiple several
    various different own other open closed active inactive upcoming past current individual personal private
    public internal external available simple basic custom small large big local main shared unpaid paid
    outstanding overdue pending scheduled completed free premium optional future regular special specific
    certain related associated existing whole entire full partial first last next previous single separate
    general standard total many most more few little much every same
    """)
"""Words that qualify a noun and are dropped when a noun phrase is named."""

GENERIC_NOUNS = words("""
    service system platform app application tool software solution way data information info detail details
    tenant tenants multitenant ui interface api dashboard portal website web saas thing stuff lot everything
    something time day week month year people history audit trail logs webhook webhooks search archive trash
    change update workflow process feature functionality option ability need kind type number amount part set
    report reports analytics overview summary status state access support card cash email emails phone sms
    money online help list lists business businesses company companies organisation organization team teams
    backend frontend database screen page view views form forms message messages notification notifications
    user users admin admins administrator administrators delete deletion soft restore undo export import text
    error errors latency availability uptime performance security backup backups sla slo percentile ms rate
    """)
"""Nouns that never become an entity by themselves: the platform, its plumbing and its audience.

Some of these are pattern names (team, message, user, ...): a pattern match still makes them
entities; being generic only stops an unmatched noun from being promoted."""

PRODUCT_HEADS = words(
    "service app application platform system tool portal saas software solution api backend tracker "
    "marketplace crm erp hub dashboard website helpdesk directory planner scheduler"
)
"""Nouns that name the product itself: 'an invoicing service', 'a fleet maintenance tracker'."""

PERSON_NOUNS = words("""
    person people customer client contact patient doctor owner student instructor attendee member employee
    driver user agent guest diner volunteer renter lessee landlord traveller traveler passenger visitor
    player coach athlete candidate applicant author reader writer buyer seller vendor host organizer organiser
    speaker teacher tutor learner trainee nurse therapist technician mechanic courier rider donor parent child
    resident subscriber borrower lender manager worker contractor freelancer consultant beekeeper gardener
    """)
"""Nouns for people: their name, phone and address attributes are personal data (pii)."""

TITLE_NOUNS = words(
    "book article post page course song film movie episode report story chapter album recipe lesson document "
    "podcast video playlist task issue paper thesis poem exhibition"
)
"""Nouns whose default label attribute is a title rather than a name."""
