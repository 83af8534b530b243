"""Search engines behind one interface (base.py): embedded Whoosh, and OpenSearch.

open_engine() is the only place that chooses one; everything above this
package holds an Engine and the EngineViews it hands out.
"""

from __future__ import annotations

from searchsvc.engine.base import Engine


def open_engine(config) -> Engine:
    """The engine `config.engine` names, over the index the configuration describes."""
    if config.engine == "opensearch":
        from searchsvc.engine.opensearch.engine import OpenSearchEngine

        return OpenSearchEngine(config)
    from searchsvc.engine.embedded.engine import WhooshEngine

    return WhooshEngine(config)
