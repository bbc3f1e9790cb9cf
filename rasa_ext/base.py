"""What the project's NLU components share: how Rasa creates them for training."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData


class DataComponent(GraphComponent):  # type: ignore[misc]
    """A component with nothing to train or persist; its data loads on first use.

    Its config.yml parameters (merged over ``get_default_config``) become
    keyword arguments of the constructor.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(**config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training does not need this component's output: leave the data as it is."""
        return training_data


class StoredComponent(GraphComponent):  # type: ignore[misc]
    """A component that trains into its model resource and loads from it.

    Its constructor takes the config and where to store, as Rasa gives them to
    ``create``; ``load`` (the component's own) reads the resource back.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, model_storage, resource)
