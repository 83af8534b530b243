"""Settings: defaults, the environment, explicit values, and bad values refused by name."""

from __future__ import annotations

import pytest

from searchsvc.config import load_config


@pytest.mark.parametrize(
    ("overrides", "environ", "shards", "replicas"),
    [
        ({}, {}, 3, 1),
        ({}, {"SEARCHSVC_OPENSEARCH_SHARDS": "6", "SEARCHSVC_OPENSEARCH_REPLICAS": "0"}, 6, 0),
        ({"opensearch_shards": 2}, {"SEARCHSVC_OPENSEARCH_SHARDS": "6"}, 2, 1),
    ],
)
def test_shards_and_replicas(overrides, environ, shards, replicas):
    config = load_config(overrides, environ)
    assert (config.opensearch_shards, config.opensearch_replicas) == (shards, replicas)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SEARCHSVC_OPENSEARCH_SHARDS": "0"}, "opensearch_shards: must be at least 1"),
        ({"SEARCHSVC_OPENSEARCH_SHARDS": "three"}, "bad value 'three' for opensearch_shards"),
        ({"SEARCHSVC_OPENSEARCH_REPLICAS": "-1"}, "opensearch_replicas: must not be negative"),
    ],
)
def test_bad_shards_and_replicas_are_refused_by_name(environ, message):
    with pytest.raises(ValueError, match=message):
        load_config(environ=environ)
