"""The Odyssee XML format: DataContractSerializer-shaped output, and XML bodies read into the same
dict a JSON body gives (reference.md §2.4, §3.5)."""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from odyssee.domain.validation import read_payload
from odyssee.model.errors import InvalidInput, NotAcceptable
from odyssee.model.registry import EntitySpec, Kind, registry
from odyssee.odata.xml import XSI, collection_to_xml, entity_to_xml, xml_to_payload
from tests.conftest import Tenant
from tests.factories import SPECIAL, Factory, sample

WRITABLE = [spec.name for spec in registry() if not spec.options.read_only]
# WebhookDelivery rows are written by the worker: tests/worker/test_webhooks.py
SERVER_WRITTEN = ["JobStatus", *(s.name for s in registry() if s.options.read_only and s.name != "WebhookDelivery")]
"""Entities whose rows the server writes: seeded statuses, and the workflow's records."""


def _spec(name: str) -> EntitySpec:
    spec = registry().lookup(name)
    assert spec is not None, name
    return spec


def _rich_body(make: Factory, spec: EntitySpec) -> dict[str, Any]:
    """A valid body that sets every writable plain property, so every kind and XML-special
    characters go through the format, not only the handful a minimal body has."""
    body = make.body(spec.name)
    for field in spec.writable:
        if field.name in body or field.references:
            continue
        if (spec.name, field.name) in SPECIAL or field.name.endswith("_code"):
            continue
        if field.kind is Kind.STRING:
            body[field.name] = "é<&>\"' \r\n"[: field.max_length or 10]
        elif field.kind is Kind.GUID:
            body[field.name] = str(uuid.uuid4())
        elif field.kind is Kind.BINARY:
            body[field.name] = base64.b64encode(b"\x00\xffbinary").decode()
        else:
            body[field.name] = sample(spec, field)
    return body


@pytest.mark.parametrize("controller", WRITABLE)
def test_json_to_xml_to_payload_round_trips_every_entity(make: Factory, tenant: Tenant, controller: str) -> None:
    spec = _spec(controller)
    response = tenant.post(f"/api/{controller}", _rich_body(make, spec))
    assert response.status_code == 201, response.text
    created = response.json()

    document = entity_to_xml(spec, created)
    payload = xml_to_payload(spec, document)

    returned = [f for f in spec.fields if not f.write_only]  # secrets are never in a response
    assert payload == {f.name: created[f.name] for f in returned}
    root = ET.fromstring(document)
    assert root.tag == spec.table_name
    assert [child.tag for child in root] == sorted(f.name for f in returned)


@pytest.mark.parametrize("controller", WRITABLE)
def test_an_xml_body_creates_the_same_entity_as_its_json(make: Factory, tenant: Tenant, controller: str) -> None:
    """What the lead wires into POST: XML → payload → the JSON create path accepts it unchanged."""
    spec = _spec(controller)
    body = _rich_body(make, spec)
    payload = xml_to_payload(spec, entity_to_xml(spec, body))
    response = tenant.post(f"/api/{controller}", payload)
    assert response.status_code == 201, response.text
    created = response.json()
    for name, value in body.items():
        if not spec.by_name[name].write_only:
            assert created[name] == value, name


@pytest.mark.parametrize("controller", SERVER_WRITTEN)
def test_server_written_entities_round_trip_too(tenant: Tenant, make: Factory, controller: str) -> None:
    spec = _spec(controller)
    job, user = make("Jobs"), make("User")
    assert tenant.post(f"/api/Jobs({job['id']})/Dispatch", {"user_ids": [user["id"]]}).status_code == 200
    rows = tenant.rows(controller)
    assert rows, "seeded rows expected"
    for row in rows:
        properties = {name: value for name, value in row.items() if "@" not in name}
        assert xml_to_payload(spec, entity_to_xml(spec, row)) == properties


ARTICLE_CATEGORY = {
    "@odata.context": "http://testserver/api/$metadata#ArticleCategory/$entity",
    "name": "Pumps & <valves>",
    "id": "0a1b2c3d-0000-4000-8000-00000000000a",
    "code": "",
    "modified_dateutc": "2026-01-11T23:55:19.658Z",
    "parent_id": None,
}


def test_an_entity_is_its_table_element_with_sorted_children_in_datacontract_form() -> None:
    document = entity_to_xml(_spec("ArticleCategory"), ARTICLE_CATEGORY)
    assert document == (
        b'<article_category xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        b"<code/>"
        b"<id>0a1b2c3d-0000-4000-8000-00000000000a</id>"
        b"<modified_dateutc>2026-01-11T23:55:19.658Z</modified_dateutc>"
        b"<name>Pumps &amp; &lt;valves&gt;</name>"
        b'<parent_id i:nil="true"/>'
        b"</article_category>"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (1.5, "1.5"),
        (123456.78, "123456.78"),
        (2.0, "2"),
        (0.0, "0"),
        (1e-05, "0.00001"),
        (1e17, "100000000000000000"),
        ("a\r\nb", "a&#13;\nb"),
        ("Zoë", "Zoë"),
    ],
)
def test_values_use_the_xml_schema_forms(value: Any, text: str) -> None:
    document = entity_to_xml(_spec("ArticleCategory"), {"name": value}).decode()
    assert document.endswith(f"<name>{text}</name></article_category>")


def test_text_xml_cannot_carry_is_refused_rather_than_sent_broken() -> None:
    with pytest.raises(NotAcceptable) as raised:
        entity_to_xml(_spec("ArticleCategory"), {"name": "bell\x07"})
    assert "U+0007" in raised.value.message
    assert raised.value.target == "name"


def test_a_collection_is_an_arrayof_element_with_one_element_per_row() -> None:
    spec = _spec("ArticleCategory")
    rows = [{"id": "1", "name": "b"}, {"id": "2", "name": "a"}]
    document = collection_to_xml(spec, rows)
    assert document == (
        b'<ArrayOfarticle_category xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        b"<article_category><id>1</id><name>b</name></article_category>"
        b"<article_category><id>2</id><name>a</name></article_category>"
        b"</ArrayOfarticle_category>"
    )
    assert collection_to_xml(spec, []) == (
        b'<ArrayOfarticle_category xmlns:i="http://www.w3.org/2001/XMLSchema-instance"></ArrayOfarticle_category>'
    )


def test_count_and_next_link_are_optional_root_attributes() -> None:
    link = "http://testserver/api/ArticleCategory?$top=5&$skip=20"
    document = collection_to_xml(_spec("ArticleCategory"), [{"id": "1"}], count=21, next_link=link)
    root = ET.fromstring(document)
    assert root.attrib == {"odata.count": "21", "odata.nextLink": link}
    assert b"&amp;$skip=20" in document


def test_expanded_navigations_nest_as_elements() -> None:
    row = {
        "id": "p1",
        "company": {"id": "c1", "name": "ACME", "company_type": {"id": "t1"}},
        "jobs": [
            {"id": "j1", "jobs@odata.count": 0, "children": []},
            {"id": "j2", "children": [{"id": "j3"}]},
        ],
        "jobs@odata.count": 2,
    }
    document = entity_to_xml(_spec("Project"), row)
    assert document == (
        b'<project xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        b"<company><company_type><id>t1</id></company_type><id>c1</id><name>ACME</name></company>"
        b"<id>p1</id>"
        b"<jobs>"
        b"<jobs><children/><id>j1</id></jobs>"
        b"<jobs><children><jobs><id>j3</id></jobs></children><id>j2</id></jobs>"
        b"</jobs>"
        b"</project>"
    )


def test_expanded_navigations_read_back_as_nested_dicts_and_lists() -> None:
    spec = _spec("Company")
    row = {
        "id": "c1",
        "company_type": {"id": "t1", "sales_organization": {"id": "s1", "name": "West"}},
        "contacts": [{"id": "k1", "archived": False}, {"id": "k2", "archived": True, "company": {"id": "c1"}}],
    }
    assert xml_to_payload(spec, entity_to_xml(spec, row)) == row


# --- reading -----------------------------------------------------------------------------


def test_a_datacontract_body_with_namespaces_and_the_controller_name_reads() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<Task xmlns="http://schemas.datacontract.org/2004/07/Odyssee" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">\n'
        b'  <description i:nil="true"/>\n'
        b"  <name>Check the pump</name>\n"
        b"  <task_type><code>0001</code><name>internal task</name></task_type>\n"
        b"  <task_type_code>0001</task_type_code>\n"
        b"</Task>"
    )
    assert xml_to_payload(_spec("Task"), body) == {
        "description": None,
        "name": "Check the pump",
        "task_type": {"code": "0001", "name": "internal task"},
        "task_type_code": "0001",
    }


@pytest.mark.parametrize("root", ["task", "Task", "TASK", "tAsK"])
def test_the_root_is_the_table_or_controller_name_in_any_case(root: str) -> None:
    assert xml_to_payload(_spec("Task"), f"<{root}><name>x</name></{root}>".encode()) == {"name": "x"}


def test_another_root_is_refused_naming_what_was_expected() -> None:
    with pytest.raises(InvalidInput) as raised:
        xml_to_payload(_spec("ArticleCategory"), b"<company><name>x</name></company>")
    assert raised.value.message == (
        "The XML root element is <company>; a ArticleCategory body must be <article_category> (or <ArticleCategory>)."
    )


def test_text_is_converted_by_the_property_kind() -> None:
    spec = _spec("Article")
    kinds = {f.name: f.kind for f in spec.fields}
    decimal = next(name for name, kind in kinds.items() if kind is Kind.DECIMAL)
    boolean = next(name for name, kind in kinds.items() if kind is Kind.BOOLEAN)
    body = (
        f"<article><{decimal}> 12.50 </{decimal}><{boolean}>1</{boolean}>"
        f"<id>\n  0A1B2C3D-0000-4000-8000-00000000000A\n</id><name>  spaced  </name></article>"
    ).encode()
    assert xml_to_payload(spec, body) == {
        decimal: 12.5,
        boolean: True,
        "id": "0A1B2C3D-0000-4000-8000-00000000000A",
        "name": "  spaced  ",
    }


def test_integers_and_booleans_accept_the_xml_schema_lexical_forms() -> None:
    spec = _spec("JobPriority")
    ints = [f.name for f in spec.fields if f.kind is Kind.INT32]
    bools = [f.name for f in spec.fields if f.kind is Kind.BOOLEAN]
    assert ints and bools
    for text, value in (("+5", 5), ("-3", -3), ("0", 0)):
        assert xml_to_payload(spec, f"<job_priority><{ints[0]}>{text}</{ints[0]}></job_priority>".encode()) == {
            ints[0]: value
        }
    for text, flag in (("true", True), ("false", False), ("1", True), ("0", False), ("True", True)):
        assert xml_to_payload(spec, f"<job_priority><{bools[0]}>{text}</{bools[0]}></job_priority>".encode()) == {
            bools[0]: flag
        }


def test_empty_or_nil_elements_are_none_but_an_empty_string_stays_empty() -> None:
    spec = _spec("Article")
    decimal = next(f.name for f in spec.fields if f.kind is Kind.DECIMAL)
    body = f'<article xmlns:i="{XSI}"><{decimal}/><name></name><code i:nil="true"/><article_category_id/></article>'
    assert xml_to_payload(spec, body.encode()) == {decimal: None, "name": "", "code": None, "article_category_id": None}


def test_embedded_codes_stay_strings_with_their_leading_zeros() -> None:
    payload = xml_to_payload(_spec("Task"), b"<task><task_type_code>0001</task_type_code></task>")
    assert payload == {"task_type_code": "0001"}


def test_wrong_values_are_all_reported_at_once() -> None:
    spec = _spec("JobPriority")
    number = next(f.name for f in spec.fields if f.kind is Kind.INT32)
    flag = next(f.name for f in spec.fields if f.kind is Kind.BOOLEAN)
    body = f"<job_priority><{number}>1.5</{number}><{flag}>yes</{flag}></job_priority>".encode()
    with pytest.raises(InvalidInput) as raised:
        xml_to_payload(spec, body)
    assert [(d.target, d.message) for d in raised.value.details] == [
        (number, f"{number}: '1.5' is not an integer"),
        (flag, f"{flag}: 'yes' is not a boolean (expected true or false)"),
    ]


def test_a_decimal_with_a_comma_is_refused() -> None:
    spec = _spec("Article")
    decimal = next(f.name for f in spec.fields if f.kind is Kind.DECIMAL)
    with pytest.raises(InvalidInput, match="with a dot"):
        xml_to_payload(spec, f"<article><{decimal}>1,5</{decimal}></article>".encode())


def test_a_repeated_property_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        xml_to_payload(_spec("Task"), b"<task><name>a</name><name>b</name></task>")
    assert raised.value.details[0].code == "DuplicateProperty"


def test_unknown_elements_reach_validation_which_names_them() -> None:
    spec = _spec("ArticleCategory")
    payload = xml_to_payload(spec, b"<article_category><nmae>x</nmae></article_category>")
    assert payload == {"nmae": "x"}
    with pytest.raises(InvalidInput) as raised:
        read_payload(spec, payload)
    assert raised.value.details[0].message == "ArticleCategory has no property 'nmae'; did you mean 'name'?"


def test_base64_wrapped_over_lines_reads() -> None:
    encoded = base64.b64encode(bytes(range(200))).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    payload = xml_to_payload(_spec("DbFile"), f"<db_file><file_content>{wrapped}</file_content></db_file>".encode())
    assert payload == {"file_content": encoded}


def test_other_encodings_declared_in_the_body_are_honoured() -> None:
    body = '<?xml version="1.0" encoding="utf-16"?><task><name>Zoë</name></task>'.encode("utf-16")
    assert xml_to_payload(_spec("Task"), body) == {"name": "Zoë"}


# --- hostile input ---------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE task [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<task><name>&lol4;</name></task>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE task [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<task><name>&secret;</name></task>"""
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE task SYSTEM "http://127.0.0.1:9/evil.dtd"><task/>'
PLAIN_DTD = b"<!DOCTYPE task><task><name>x</name></task>"


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, EXTERNAL_DTD, PLAIN_DTD], ids=["laughs", "xxe", "ext", "dtd"])
def test_dtds_and_entities_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidInput) as raised:
        xml_to_payload(_spec("Task"), body)
    assert raised.value.code == "ForbiddenXml"
    assert "refused for security" in raised.value.message


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"<task><name>x</task>", "line 1, column 16"),
        (b"<task>\n  <name>a & b</name>\n</task>", "line 2, column 12"),
        (b"<task><name>x</name>", "line 1, column 21"),
        (b"not xml at all", "line 1, column 1"),
        (b"<task/><task/>", "line 1, column 8"),
    ],
)
def test_malformed_xml_names_line_and_column(body: bytes, where: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        xml_to_payload(_spec("Task"), body)
    assert raised.value.code == "MalformedXml"
    assert raised.value.message.startswith("The request body is not well-formed XML: ")
    assert raised.value.message.endswith(f"at {where}.")


@pytest.mark.parametrize("body", [b"", b"  \n "])
def test_an_empty_body_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        xml_to_payload(_spec("Task"), body)


def test_absurd_nesting_is_refused_without_exhausting_the_stack() -> None:
    depth = 100_000
    body = b"<task>" + b"<a>" * depth + b"</a>" * depth + b"</task>"
    with pytest.raises(InvalidInput, match="levels deep"):
        xml_to_payload(_spec("Task"), body)
