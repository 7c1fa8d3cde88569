"""The CSDL documents: valid against the OASIS schemas, generated from the registry, and the XML
and JSON forms describing the same service.

The helpers at the top (schema validators and a representation-neutral summary of a document)
are shared with ``tests/api/test_metadata.py``, which checks the documents the server serves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import regex
from jsonschema import Draft7Validator, ValidationError, validators
from jsonschema.protocols import Validator
from lxml import etree

from odyssee.model.entities.jobs import OPEN_STATUS_ID
from odyssee.model.registry import Kind, Registry, registry
from odyssee.odata.metadata import build_model, metadata_json, metadata_xml, render_json, render_xml

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "odata-csdl-schemas"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"


# --- validators -----------------------------------------------------------------------------------


@cache
def edmx_schema() -> etree.XMLSchema:
    """OASIS ``edmx.xsd`` (which imports ``edm.xsd`` from beside it), loaded without network access."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "edmx.xsd"), parser))


def xml_errors(body: bytes) -> list[str]:
    schema = edmx_schema()
    if schema.validate(etree.fromstring(body)):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def _pattern(validator: Validator, pattern: str, instance: Any, _schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Validator, patterns: dict[str, Any], instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if regex.search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator: Validator, allowed: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [name for name in instance if name not in known and not any(regex.search(p, name) for p in patterns)]
    if validator.is_type(allowed, "object"):
        for name in extras:
            yield from validator.descend(instance[name], allowed, path=name)
    elif allowed is False and extras:
        yield ValidationError(f"unexpected members {sorted(extras)}")


# csdl.schema.json's name patterns use \p{L} and friends (ECMA/XSD regex classes) that Python's
# re module rejects; the three keywords that match patterns use the `regex` module instead.
CsdlValidator = validators.extend(
    Draft7Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


@cache
def csdl_validator() -> Validator:
    return CsdlValidator(json.loads((SCHEMAS / "csdl.schema.json").read_text(encoding="utf-8")))


def json_errors(document: Any) -> list[str]:
    """Every schema violation, with the deepest failing member of each for a readable message."""
    found = []
    for error in csdl_validator().iter_errors(document):
        deepest = max([error, *error.context], key=lambda e: len(e.absolute_path))
        found.append(f"{'/'.join(map(str, deepest.absolute_path))}: {deepest.message[:300]}")
    return found


# --- one summary for both representations ---------------------------------------------------------


def _xml_value(annotation: etree._Element) -> Any:
    if annotation.get("Bool") is not None:
        return annotation.get("Bool") == "true"
    if annotation.get("String") is not None:
        return annotation.get("String")
    child = annotation[0]
    if child.tag == f"{EDM}Collection":
        return [item.text for item in child]
    return {value.get("Property"): value.get("Bool") == "true" for value in child}


def _xml_annotations(element: etree._Element) -> dict[str, Any]:
    return {a.get("Term"): _xml_value(a) for a in element.findall(f"{EDM}Annotation")}


def xml_summary(body: bytes) -> dict[str, Any]:
    """What a client learns from the XML document, in a shape :func:`json_summary` also produces."""
    root = etree.fromstring(body)
    schema = root.find(f"{EDMX}DataServices/{EDM}Schema")
    assert schema is not None
    types: dict[str, Any] = {}
    for entity_type in schema.findall(f"{EDM}EntityType"):
        properties = {}
        for prop in entity_type.findall(f"{EDM}Property"):
            properties[prop.get("Name")] = {
                "type": prop.get("Type"),
                "nullable": prop.get("Nullable") == "true",
                "max_length": int(prop.get("MaxLength")) if prop.get("MaxLength") else None,
                "precision": int(prop.get("Precision")) if prop.get("Precision") else None,
                "scale": int(prop.get("Scale")) if prop.get("Scale") else None,
                "default": prop.get("DefaultValue"),
                "annotations": _xml_annotations(prop),
            }
        navigations = {}
        for nav in entity_type.findall(f"{EDM}NavigationProperty"):
            type_name = nav.get("Type", "")
            many = type_name.startswith("Collection(")
            navigations[nav.get("Name")] = {
                "type": type_name.removeprefix("Collection(").removesuffix(")") if many else type_name,
                "collection": many,
                "nullable": nav.get("Nullable") == "true",
                "partner": nav.get("Partner"),
                "constraint": {
                    c.get("Property"): c.get("ReferencedProperty") for c in nav.findall(f"{EDM}ReferentialConstraint")
                },
            }
        types[entity_type.get("Name")] = {
            "key": [ref.get("Name") for ref in entity_type.findall(f"{EDM}Key/{EDM}PropertyRef")],
            "properties": properties,
            "navigations": navigations,
            "annotations": _xml_annotations(entity_type),
        }
    container = schema.find(f"{EDM}EntityContainer")
    assert container is not None
    sets = {
        entity_set.get("Name"): {
            "type": entity_set.get("EntityType"),
            "bindings": {b.get("Path"): b.get("Target") for b in entity_set.findall(f"{EDM}NavigationPropertyBinding")},
            "annotations": _xml_annotations(entity_set),
        }
        for entity_set in container.findall(f"{EDM}EntitySet")
    }
    return {
        "version": root.get("Version"),
        "namespace": schema.get("Namespace"),
        "container": container.get("Name"),
        "container_annotations": _xml_annotations(container),
        "types": types,
        "sets": sets,
    }


def _json_annotations(member: dict[str, Any]) -> dict[str, Any]:
    return {name[1:]: value for name, value in member.items() if name.startswith("@")}


def _json_default(prop: dict[str, Any]) -> str | None:
    """``$DefaultValue`` as the XML literal it stands for."""
    if "$DefaultValue" not in prop:
        return None
    value = prop["$DefaultValue"]
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def json_summary(document: dict[str, Any]) -> dict[str, Any]:
    namespace, container_name = document["$EntityContainer"].rsplit(".", 1)
    schema = document[namespace]
    types: dict[str, Any] = {}
    for name, member in schema.items():
        if not isinstance(member, dict) or member.get("$Kind") != "EntityType":
            continue
        properties, navigations = {}, {}
        for prop_name, prop in member.items():
            if prop_name.startswith(("$", "@")):
                continue
            if prop.get("$Kind") == "NavigationProperty":
                navigations[prop_name] = {
                    "type": prop["$Type"],
                    "collection": prop.get("$Collection", False),
                    "nullable": prop.get("$Nullable", False),
                    "partner": prop.get("$Partner"),
                    "constraint": prop.get("$ReferentialConstraint", {}),
                }
            else:
                properties[prop_name] = {
                    "type": prop.get("$Type", "Edm.String"),
                    "nullable": prop.get("$Nullable", False),
                    "max_length": prop.get("$MaxLength"),
                    "precision": prop.get("$Precision"),
                    "scale": prop.get("$Scale"),
                    "default": _json_default(prop),
                    "annotations": _json_annotations(prop),
                }
        types[name] = {
            "key": member["$Key"],
            "properties": properties,
            "navigations": navigations,
            "annotations": _json_annotations(member),
        }
    container = schema[container_name]
    sets = {
        name: {
            "type": member["$Type"],
            "bindings": member.get("$NavigationPropertyBinding", {}),
            "annotations": _json_annotations(member),
        }
        for name, member in container.items()
        if isinstance(member, dict) and member.get("$Collection") is True
    }
    return {
        "version": document["$Version"],
        "namespace": namespace,
        "container": container_name,
        "container_annotations": _json_annotations(container),
        "types": types,
        "sets": sets,
    }


# --- tests ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    return xml_summary(metadata_xml())


def test_xml_document_is_valid_against_the_oasis_edmx_schema() -> None:
    assert xml_errors(metadata_xml()) == []


def test_json_document_is_valid_against_the_oasis_csdl_json_schema() -> None:
    assert json_errors(json.loads(metadata_json())) == []


def test_the_schema_validators_reject_broken_documents() -> None:
    """Guards the two tests above: a validator that accepted anything would make them pass vacuously."""
    broken_xml = metadata_xml().replace(b"<Key>", b"<Keys>", 1).replace(b"</Key>", b"</Keys>", 1)
    assert xml_errors(broken_xml)
    broken_json = json.loads(metadata_json())
    broken_json["Odyssee"]["Company"]["name"]["$MaxLength"] = "sixty-four"
    broken_json["Odyssee"]["Container"]["Company"]["$Typo"] = True
    assert len(json_errors(broken_json)) == 2
    broken_json = json.loads(metadata_json())
    broken_json["Odyssee"]["Company"]["not a name"] = {"$Type": "Edm.String"}
    assert json_errors(broken_json)


def test_xml_and_json_describe_the_same_service() -> None:
    assert xml_summary(metadata_xml()) == json_summary(json.loads(metadata_json()))


def test_every_entity_field_and_navigation_of_the_registry_is_described(summary: dict[str, Any]) -> None:
    assert summary["namespace"] == "Odyssee"
    assert summary["version"] == "4.0"
    assert set(summary["types"]) == {spec.name for spec in registry()}
    assert set(summary["sets"]) == {spec.name for spec in registry()}
    for spec in registry():
        described = summary["types"][spec.name]
        assert described["key"] == ["id"]
        assert list(described["properties"]) == [f.name for f in spec.fields]
        assert list(described["navigations"]) == [n.name for n in spec.navigations]
        assert {p["type"] for p in described["properties"].values()} <= {kind.value for kind in Kind}
        assert not any(p["nullable"] for p in described["properties"].values()), spec.name
        entity_set = summary["sets"][spec.name]
        assert entity_set["type"] == f"Odyssee.{spec.name}"
        assert set(entity_set["bindings"]) == {n.name for n in spec.navigations}
        for navigation in spec.navigations:
            target = registry().by_table(navigation.target).name
            assert entity_set["bindings"][navigation.name] == target
            assert described["navigations"][navigation.name]["type"] == f"Odyssee.{target}"


def test_company_has_key_id_and_string_max_lengths(summary: dict[str, Any]) -> None:
    company = summary["types"]["Company"]
    assert company["key"] == ["id"]
    assert company["properties"]["id"]["type"] == "Edm.Guid"
    assert company["properties"]["name"]["type"] == "Edm.String"
    assert company["properties"]["name"]["max_length"] == 64
    assert company["properties"]["notes"]["max_length"] is None  # unbounded text
    assert company["annotations"]["Core.Description"] == "A customer or supplier."


def test_to_one_navigation_is_nullable_with_referential_constraint_and_partner(summary: dict[str, Any]) -> None:
    company = summary["types"]["Jobs"]["navigations"]["company"]
    assert company == {
        "type": "Odyssee.Company",
        "collection": False,
        "nullable": True,
        "partner": "jobs",
        "constraint": {"company_id": "id"},
    }
    jobs = summary["types"]["Company"]["navigations"]["jobs"]
    assert jobs["collection"] is True
    assert jobs["type"] == "Odyssee.Jobs"
    assert jobs["partner"] == "company"


def test_to_many_navigation_is_a_collection_with_partner(summary: dict[str, Any]) -> None:
    projects = summary["types"]["Company"]["navigations"]["projects"]
    assert projects == {
        "type": "Odyssee.Project",
        "collection": True,
        "nullable": False,
        "partner": "company",
        "constraint": {},
    }
    assert summary["types"]["Project"]["navigations"]["company"]["partner"] == "projects"


def test_every_partner_points_back(summary: dict[str, Any]) -> None:
    for type_name, described in summary["types"].items():
        for name, navigation in described["navigations"].items():
            target = navigation["type"].removeprefix("Odyssee.")
            partner = summary["types"][target]["navigations"][navigation["partner"]]
            assert partner["partner"] == name, f"{type_name}.{name}"
            assert partner["type"] == f"Odyssee.{type_name}"
            assert partner["collection"] is not navigation["collection"]


def test_numeric_and_datetime_facets(summary: dict[str, Any]) -> None:
    jobs = summary["types"]["Jobs"]["properties"]
    assert (jobs["estimated_duration"]["precision"], jobs["estimated_duration"]["scale"]) == (28, 10)
    assert jobs["date_planned"]["type"] == "Edm.DateTimeOffset"
    assert jobs["date_planned"]["precision"] == 3
    assert jobs["modified_dateutc"]["precision"] == 3
    assert jobs["id2"]["type"] == "Edm.Int32"


def test_constant_defaults_are_declared_and_others_are_not(summary: dict[str, Any]) -> None:
    jobs = summary["types"]["Jobs"]["properties"]
    assert jobs["job_status_id"]["default"] == str(OPEN_STATUS_ID)
    assert jobs["company_id"]["default"] is None  # "no reference", or derived from the project
    assert jobs["date_planned"]["default"] == "1980-01-01T00:00:00.000Z"
    assert jobs["estimated_duration"]["default"] == "0"
    assert jobs["name"]["default"] == ""
    assert jobs["project_id"]["default"] is None  # required: the client names one (or the is_default row)
    assert jobs["date_create"]["default"] is None  # the server's clock
    assert jobs["id"]["default"] is None  # a new GUID
    assert jobs["modified_dateutc"]["default"] is None  # computed
    assert summary["types"]["DbFile"]["properties"]["id_in_table"]["default"] == "00000000-0000-0000-0000-000000000000"
    company = summary["types"]["Company"]["properties"]
    assert company["is_working_address"]["default"] == "true"
    assert company["archived"]["default"] == "false"
    assert company["name"]["default"] is None


def test_documentation_and_computed_annotations(summary: dict[str, Any]) -> None:
    jobs = summary["types"]["Jobs"]
    assert jobs["annotations"] == {"Core.Description": "A work order."}
    assert jobs["properties"]["id2"]["annotations"] == {
        "Core.Description": 'Per-tenant running number ("Job #41").',
        "Core.Computed": True,
    }
    assert jobs["properties"]["modified_dateutc"]["annotations"]["Core.Computed"] is True
    assert "Core.Computed" not in jobs["properties"]["name"]["annotations"]
    assert "Core.Computed" not in jobs["properties"]["id"]["annotations"]  # clients may supply the key


def test_capabilities_follow_the_entity_options(summary: dict[str, Any]) -> None:
    sets = summary["sets"]
    status = sets["JobStatusHistory"]["annotations"]
    assert status["Capabilities.InsertRestrictions"] == {"Insertable": False}
    assert status["Capabilities.UpdateRestrictions"] == {"Updatable": False}
    assert status["Capabilities.DeleteRestrictions"] == {"Deletable": False}
    approval = sets["JobApproval"]["annotations"]
    assert approval["Capabilities.DeleteRestrictions"] == {"Deletable": False}
    assert "Capabilities.InsertRestrictions" not in approval
    jobs = sets["Jobs"]["annotations"]  # logical delete: DELETE is allowed
    assert "Capabilities.DeleteRestrictions" not in jobs
    assert jobs["Core.OptimisticConcurrency"] == ["modified_dateutc"]
    assert jobs["Capabilities.TopSupported"] is True
    assert jobs["Capabilities.SkipSupported"] is True
    assert jobs["Capabilities.CountRestrictions"] == {"Countable": True}
    restricted = {name for name, s in sets.items() if "Capabilities.DeleteRestrictions" in s["annotations"]}
    expected = {
        spec.name for spec in registry() if spec.options.read_only or spec.options.deletion.value == "forbidden"
    }
    assert restricted == expected


def test_container_capabilities(summary: dict[str, Any]) -> None:
    assert summary["container"] == "Container"
    assert summary["container_annotations"] == {
        "Capabilities.BatchSupported": True,
        "Capabilities.AsynchronousRequestsSupported": False,
        "Capabilities.SupportedMetadataFormats": ["application/xml", "application/json"],
    }


def test_vocabularies_are_referenced_by_their_standard_uris() -> None:
    root = etree.fromstring(metadata_xml())
    includes = {
        include.get("Alias"): (reference.get("Uri"), include.get("Namespace"))
        for reference in root.findall(f"{EDMX}Reference")
        for include in reference.findall(f"{EDMX}Include")
    }
    base = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/"
    assert includes == {
        "Core": (f"{base}Org.OData.Core.V1.xml", "Org.OData.Core.V1"),
        "Capabilities": (f"{base}Org.OData.Capabilities.V1.xml", "Org.OData.Capabilities.V1"),
    }
    references = json.loads(metadata_json())["$Reference"]
    assert references[f"{base}Org.OData.Core.V1.json"] == {
        "$Include": [{"$Namespace": "Org.OData.Core.V1", "$Alias": "Core"}]
    }


def test_renderers_are_pure_functions_of_the_registry() -> None:
    """A registry with fewer entities gives a smaller, still valid, document: nothing is hand-listed."""
    reg = registry()
    only = Registry(tuple(spec for spec in reg if spec.name in ("JobType", "Jobs")))
    fewer = replace(only.specs[1], navigations=())  # navigations to entities outside this registry
    small = Registry((replace(only.specs[0], navigations=()), fewer))
    model = build_model(small)
    assert [t.name for t in model.entity_types] == ["JobType", "Jobs"]
    assert xml_errors(render_xml(model)) == []
    assert json_errors(render_json(model)) == []


def test_an_entity_named_like_the_container_is_refused() -> None:
    clash = Registry((replace(registry().specs[0], name="Container", navigations=()),))
    with pytest.raises(LookupError, match="Container"):
        build_model(clash)
