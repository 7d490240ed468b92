"""Publishing: the promotion gate (:mod:`.gate`), the model card and its template
(:mod:`.card`), the check of an exported folder (:mod:`.export`) and the Hub upload (:mod:`.hub`).

May import: :mod:`frenk.core.errors`, :mod:`frenk.config` (the train defaults of the card's replay
command), :mod:`frenk.training` (strict loading). Never
:mod:`frenk.tracking` or :mod:`frenk.steps`: facts about runs come in as :class:`RunFacts`.
"""

from .card import (
    CardFacts,
    DataFacts,
    RunFacts,
    base_model_of,
    card_facts,
    comment_intervals,
    data_facts,
    render_card,
    replay_command,
)
from .export import check_export, check_exportable, exportable, registry_alias, selection_text, system_to_publish
from .gate import GateDecision, gate
from .out_of_domain import OutOfDomainRow

__all__ = ["CardFacts", "DataFacts", "GateDecision", "RunFacts", "base_model_of", "card_facts", "check_export",
           "check_exportable", "comment_intervals", "data_facts", "exportable", "gate", "registry_alias", "render_card",
           "replay_command", "selection_text", "system_to_publish", "OutOfDomainRow"]
