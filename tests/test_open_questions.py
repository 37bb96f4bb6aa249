"""The analyst's open questions: what raises them, their stable ids, and answers that rebuild the proposal."""

from __future__ import annotations

import pytest

from generators.agents.analyst import Analyst
from generators.open_questions import find_questions, parse_answers, settle
from generators.patterns import pattern_library
from generators.pipeline import Planner
from ontology.errors import InvalidInputError
from ontology.models import (
    Attribute,
    EntityNeed,
    OpenQuestion,
    PastDecision,
    RelationshipNeed,
    Requirements,
)

LIBRARY = pattern_library()


def crm() -> Requirements:
    """Requirements as the analyst writes them for 'companies have contacts; companies close deals'."""
    return Requirements(
        product_name="CRM",
        entities=[
            EntityNeed(name="company", label="Company", pattern="company", matched_by="pattern", phrase="companies"),
            EntityNeed(name="contact", label="Contact", pattern="contact", matched_by="pattern", phrase="contacts"),
            EntityNeed(
                name="deal",
                label="Deal",
                matched_by="noun",
                phrase="deals",
                attributes=[Attribute(name="name", required=True), Attribute(name="amount", type="money")],
            ),
            EntityNeed(name="attendee", label="Attendee", pattern="attendee", matched_by="synonym", phrase="guests"),
        ],
        relationships=[
            RelationshipNeed(source="company", target="contact", cardinality="one-to-many", verb="have many"),
            RelationshipNeed(source="company", target="deal", cardinality="one-to-many", verb="close"),
            RelationshipNeed(source="attendee", target="deal", cardinality="one-to-many", verb="negotiate"),
        ],
    )


def by_id(questions: list[OpenQuestion]) -> dict[str, OpenQuestion]:
    return {q.id: q for q in questions}


def test_each_kind_of_doubt_raises_a_question_with_a_default_and_alternatives() -> None:
    questions = by_id(find_questions(crm(), LIBRARY))
    assert set(questions) == {"deal", "guest", "company-deal", "attendee-deal"}
    deal = questions["deal"]
    assert (deal.kind, deal.default) == ("entity-or-attribute", "entity")
    assert deal.alternatives == ["attribute:company", "attribute:attendee", "ignore"]
    assert deal.label("attribute:company") == "an attribute of Company"
    guest = questions["guest"]
    assert (guest.kind, guest.subject, guest.default) == ("pattern-match", "guest:attendee", "pattern")
    assert guest.alternatives == ["renamed", "own"]
    link = questions["company-deal"]
    assert (link.kind, link.default) == ("cardinality", "one-to-many")
    assert link.alternatives == ["many-to-one", "many-to-many"]
    # 'have many' states its cardinality: no question about company-contact
    assert "company-contact" not in questions


def test_questions_are_deterministic_and_their_ids_follow_their_subjects() -> None:
    intent = "Hotel: guests reserve rooms; participants attend workshops"
    first = find_questions(Analyst().analyse(intent), LIBRARY)
    again = find_questions(Analyst().analyse(intent), LIBRARY)
    assert first and [q.model_dump() for q in first] == [q.model_dump() for q in again]
    assert len({q.id for q in first}) == len(first)
    for q in first:
        assert q.id.split(":")[-1] in q.subject or q.subject.startswith(q.id), q


def test_an_attribute_named_like_an_entity_asks_whether_it_is_one() -> None:
    req = crm()
    req.entities[0].attributes = [Attribute(name="contacts")]
    q = by_id(find_questions(req, LIBRARY))["company.contacts"]
    assert (q.kind, q.default, q.alternatives) == ("attribute-or-entity", "attribute", ["entity", "ignore"])
    settled = settle(req, LIBRARY, {"company.contacts": "ignore"})
    assert settled.entities[0].attributes == []


def test_no_answer_keeps_the_proposal_and_lists_every_question() -> None:
    req = crm()
    settled = settle(req, LIBRARY)
    assert settled.entities == req.entities and settled.relationships == req.relationships
    assert [q.id for q in settled.open_questions] == [q.id for q in find_questions(req, LIBRARY)]
    assert settled.answers == []


def test_answers_turn_an_entity_into_an_attribute_rename_and_flip_cardinality() -> None:
    settled = settle(crm(), LIBRARY, {"deal": "attribute:company", "guest": "own", "attendee-deal": "many-to-many"})
    names = [e.name for e in settled.entities]
    assert names == ["company", "contact", "guest"]
    company = settled.entities[0]
    assert [(a.name, a.type) for a in company.attributes] == [("deal", "string")]
    guest = settled.entities[2]
    assert guest.pattern is None and {"name", "description"} <= {a.name for a in guest.attributes}
    assert all("deal" not in (r.source, r.target) for r in settled.relationships)
    # the cardinality question went with deal; nothing is left open
    assert settled.open_questions == []
    assert [a.question.id for a in settled.answers] == ["deal", "guest", "attendee-deal"]
    assert any(n.startswith("question deal = attribute:company (answered)") for n in settled.notes)


def test_renamed_keeps_the_pattern_under_the_persons_word() -> None:
    settled = settle(crm(), LIBRARY, {"guest": "renamed", "deal": "ignore"})
    guest = next(e for e in settled.entities if e.name == "guest")
    assert guest.pattern == "attendee"
    assert "deal" not in {e.name for e in settled.entities}


def test_an_answer_names_a_choice_by_its_prefix_when_only_one_fits() -> None:
    req = crm()
    req.relationships = [r for r in req.relationships if r.source != "attendee"]
    settled = settle(req, LIBRARY, {"deal": "attribute"})
    assert "deal" in {a.name for a in settled.entities[0].attributes}


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"dael": "entity"}, ["no open question 'dael'", "deal"]),
        ({"deal": "table"}, ["not an answer to question deal", "attribute:company"]),
        ({"deal": "attribute"}, ["not an answer", "attribute:attendee"]),  # two owners: say which
        ({"company-deal": "one-to-one"}, ["many-to-many"]),
    ],
)
def test_bad_answers_say_what_the_choices_are(answers: dict[str, str], words: list[str]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        settle(crm(), LIBRARY, answers)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("text", ["deal", "=entity", "deal=", ""])
def test_answer_texts_need_an_id_and_a_choice(text: str) -> None:
    with pytest.raises(InvalidInputError, match="question=choice"):
        parse_answers([text])
    assert parse_answers(["deal = entity", "a-b=many-to-many", "deal=ignore"]) == {
        "deal": "ignore",
        "a-b": "many-to-many",
    }


def test_past_decisions_settle_questions_and_answers_now_win_over_them() -> None:
    past = [
        PastDecision(kind="entity-or-attribute", subject="deal", choice="ignore", person="alice"),
        PastDecision(kind="entity-or-attribute", subject="deal", choice="entity", person="bob"),  # the latest wins
        PastDecision(kind="cardinality", subject="deal-attendee", choice="one-to-many", person="bob"),  # reversed
        PastDecision(kind="pattern-match", subject="guest:attendee", choice="nonsense", person="eve"),  # no fit
    ]
    settled = settle(crm(), LIBRARY, None, past)
    answers = {a.question.id: a for a in settled.answers}
    assert answers["deal"].choice == "entity" and answers["deal"].remembered and answers["deal"].decided_by == "bob"
    assert answers["attendee-deal"].choice == "many-to-one"
    assert {q.id for q in settled.open_questions} == {"guest", "company-deal"}
    assert any("decided earlier by bob" in n for n in settled.notes)
    now = settle(crm(), LIBRARY, {"deal": "ignore"}, past)
    assert {a.question.id: a.remembered for a in now.answers}["deal"] is False
    assert "deal" not in {e.name for e in now.entities}


def test_a_past_attribute_decision_waits_for_its_owner() -> None:
    req = crm()
    past = [PastDecision(kind="entity-or-attribute", subject="deal", choice="attribute:customer")]
    settled = settle(req, LIBRARY, None, past)
    assert "deal" in {q.id for q in settled.open_questions}  # no customer in this intent: asked again


def test_the_planner_rebuilds_the_blueprint_from_answers() -> None:
    planner = Planner()
    intent = "Guests reserve rooms at hotels; participants attend workshops"
    before = planner.propose(intent, "acme")
    ids = {q.id for q in before.requirements.open_questions}
    assert {"hotel", "guest", "room"} <= ids
    after = planner.propose(intent, "acme", answers={"hotel": "ignore", "room": "attribute:guest", "guest": "own"})
    names = {e.name for e in after.blueprint.entities}
    assert "hotel" not in names and "room" not in names and "guest" in names
    assert "room" in {a.name for a in after.blueprint.entity("guest").attributes}
    assert after.blueprint.entity("guest").pattern is None
    assert {"hotel", "guest", "room"}.isdisjoint({q.id for q in after.requirements.open_questions})
    assert any(n.startswith("question hotel = ignore") for n in after.notes)
