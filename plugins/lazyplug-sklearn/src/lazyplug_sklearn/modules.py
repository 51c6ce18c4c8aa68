"""The module group ``sklearn`` (entry point ``sklearn = "lazyplug_sklearn.modules"``).

* ``lazyplug.sklearn.Classifier(dataset, estimator)``: a scikit-learn classifier as a trainable
  module. Its train task fits the estimator on the training part of a dataset bundled with
  scikit-learn; calling it classifies one sample (a flat list of numbers) into a class number.
  Serve it with ``lazyplug.ServerModule`` like any module: the server gets the trained model.
  ``classifier.heldout()`` is the part of the dataset it never trains on, to evaluate with.
* ``lazyplug.sklearn.Flatten(size)``: preprocess, a sample as a caller sends it (an 8x8 image as
  nested lists) into the flat list of numbers a classifier takes, checked.
* ``lazyplug.sklearn.ClassName(dataset)``: postprocess, a class number into the class's name.

Importing this imports neither scikit-learn nor numpy: they load when a dataset or an estimator
is first needed.
"""

from __future__ import annotations

import math

from lazyplug import ModuleBase, make_repr, module_register
from lazyplug.errors import InvalidArgumentError, LazyplugError

from .data import ESTIMATORS, Heldout, check_dataset, check_split, load_split, make_estimator

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['ClassName', 'Classifier', 'Flatten', 'NotTrainedError']


class NotTrainedError(LazyplugError, RuntimeError):
    """A classifier was called before its train task ran."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: Any) -> Any:
    """A numpy array or number as lists and Python numbers; anything else as it is."""
    return value.tolist() if hasattr(value, 'tolist') and not isinstance(value, (list, tuple)) else value


@module_register('sklearn')
class Classifier(ModuleBase):
    """A scikit-learn classifier trained on a dataset bundled with scikit-learn.

    ``dataset`` is one of ``digits``, ``iris``, ``wine``, ``breast_cancer``; ``test_size`` of it
    (stratified, fixed by ``random_state``) is held out and never trained on. ``estimator`` is a
    name (``svc``, the default; ``logistic_regression``, ``k_neighbors``; ``most_frequent``, a
    baseline that ignores the samples) or any scikit-learn classifier object, of which a clone is
    fitted. Training happens in the train phase of ``update()``; calling the module before that
    raises :class:`NotTrainedError`.
    """

    def __init__(self, dataset: str = 'digits', estimator: Any = 'svc', *, test_size: float = 0.25,
                 random_state: int = 0, name: str | None = None, return_trace: bool = False) -> None:
        super().__init__(name=name, return_trace=return_trace)
        check_dataset(dataset)
        check_split(test_size, random_state)
        if isinstance(estimator, str):
            if estimator not in ESTIMATORS:
                raise InvalidArgumentError(f'estimator {estimator!r} is not one of {", ".join(ESTIMATORS)}; '
                                           'or pass a scikit-learn classifier object')
        elif not all(callable(getattr(estimator, m, None)) for m in ('fit', 'predict', 'get_params')):
            raise InvalidArgumentError(f'estimator must be one of {", ".join(ESTIMATORS)} or a scikit-learn '
                                       f'classifier (with fit, predict and get_params), not {estimator!r}')
        self._dataset = dataset
        self._estimator = estimator
        self._test_size = test_size
        self._random_state = random_state
        self._model: Any = None  # the fitted estimator, once trained
        self._n_features = 0

    @property
    def estimator_name(self) -> str:
        """The estimator's name, or its class's name when it was given as an object."""
        return self._estimator if isinstance(self._estimator, str) else type(self._estimator).__name__

    @property
    def trained(self) -> bool:
        """Whether the train task has run, so that the module can classify."""
        return self._model is not None

    def heldout(self) -> Heldout:
        """The held-out part of the dataset: samples as callers send them, their classes, and
        ``score``, the ``collect_f`` that turns answers into ``{'accuracy': ...}``."""
        return load_split(self._dataset, self._test_size, self._random_state).heldout()

    def _get_train_tasks(self) -> Any:
        return _Fit(self)

    def forward(self, features: Any) -> int:
        """The class number of one sample, given as a flat list (or 1-d array) of numbers."""
        model = self._model
        if model is None:
            raise NotTrainedError(f'{self._describe()} is not trained: update() it, or the application that '
                                  "holds it (update(mode='train') trains only), before calling it")
        features = _plain(features)
        if not isinstance(features, (list, tuple)) or len(features) != self._n_features \
                or not all(_is_number(v) for v in features):
            raise InvalidArgumentError(f'{self._describe()} takes one sample as a flat list of '
                                       f'{self._n_features} finite numbers, not {_abbreviate(features)} '
                                       '(lazyplug.sklearn.Flatten turns nested lists into one)')
        return int(model.predict([features])[0])

    def _describe(self) -> str:
        return f'the {self.estimator_name} classifier of {self._dataset}'

    def __repr__(self) -> str:
        return make_repr('Module', 'Classifier', name=self.name, dataset=self._dataset,
                         estimator=self.estimator_name)


class _Fit:
    """The train task of a Classifier: fit a new estimator on the dataset's training part."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier

    def __call__(self) -> None:
        c = self.classifier
        split = load_split(c._dataset, c._test_size, c._random_state)
        model = make_estimator(c._estimator)
        model.fit(split.train_x, split.train_y)
        c._model, c._n_features = model, split.n_features

    def __repr__(self) -> str:
        c = self.classifier
        return f'<fit {c.estimator_name} on the training part of {c._dataset}>'


@module_register('sklearn')
class Flatten(ModuleBase):
    """Preprocess: one sample as a caller sends it (numbers nested in lists, tuples or numpy arrays,
    like the rows of an image) into a flat list of floats; with ``size``, exactly that many."""

    def __init__(self, size: int | None = None, *, name: str | None = None, return_trace: bool = False) -> None:
        super().__init__(name=name, return_trace=return_trace)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise InvalidArgumentError(f'size is the number of values of a sample, a whole number of at least 1 '
                                       f'(or None: any), not {size!r}')
        self._size = size

    def forward(self, sample: Any) -> list[float]:
        values: list[float] = []
        pending = [sample]
        while pending:  # depth-first, left to right, without recursion
            item = _plain(pending.pop())
            if isinstance(item, (list, tuple)):
                pending.extend(reversed(item))
            elif _is_number(item):
                values.append(float(item))
            else:
                raise InvalidArgumentError(f'a sample holds finite numbers in (nested) lists; {_abbreviate(item)} '
                                           f'in {_abbreviate(sample)} is not one')
        if self._size is not None and len(values) != self._size:
            raise InvalidArgumentError(f'a sample must hold {self._size} numbers, not {len(values)}: '
                                       f'{_abbreviate(sample)}')
        return values

    def __repr__(self) -> str:
        return make_repr('Module', 'Flatten', name=self.name, size=self._size)


@module_register('sklearn')
class ClassName(ModuleBase):
    """Postprocess: a class number, as a Classifier answers, into the dataset's name of the class."""

    def __init__(self, dataset: str = 'digits', *, name: str | None = None, return_trace: bool = False) -> None:
        super().__init__(name=name, return_trace=return_trace)
        self._dataset = check_dataset(dataset)

    def forward(self, label: Any) -> str:
        names = load_split(self._dataset).class_names
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(names):
            raise InvalidArgumentError(f'{label!r} is not a class number of {self._dataset} '
                                       f'(0 to {len(names) - 1})')
        return names[label]

    def __repr__(self) -> str:
        return make_repr('Module', 'ClassName', name=self.name, dataset=self._dataset)


def _abbreviate(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'
