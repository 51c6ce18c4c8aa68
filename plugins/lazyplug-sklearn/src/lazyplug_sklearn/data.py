"""The datasets bundled with scikit-learn (no download), each split once into a training part and a
held-out part, and the estimators a :class:`~lazyplug_sklearn.modules.Classifier` can be named with.

A split depends only on the dataset's name, the held-out fraction and the random state, so the
classifier that trains on it and the evaluation that scores the held-out part agree without
passing data around; it is made once per process.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from lazyplug.errors import InvalidArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ['DATASETS', 'ESTIMATORS', 'Heldout', 'Split', 'check_dataset', 'load_split', 'make_estimator']

# name -> the loader in sklearn.datasets; all of them read files shipped inside scikit-learn
DATASETS = {'digits': 'load_digits', 'iris': 'load_iris', 'wine': 'load_wine', 'breast_cancer': 'load_breast_cancer'}


def _svc() -> Any:
    from sklearn.svm import SVC
    return SVC()


def _logistic_regression() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def _k_neighbors() -> Any:
    from sklearn.neighbors import KNeighborsClassifier
    return KNeighborsClassifier()


def _most_frequent() -> Any:
    # A baseline that learns nothing from the samples: it answers the commonest training label.
    from sklearn.dummy import DummyClassifier
    return DummyClassifier(strategy='most_frequent')


ESTIMATORS: dict[str, Callable[[], Any]] = {
    'svc': _svc, 'logistic_regression': _logistic_regression, 'k_neighbors': _k_neighbors,
    'most_frequent': _most_frequent}


def make_estimator(estimator: Any) -> Any:
    """A new, unfitted estimator: made from one of the names of ``ESTIMATORS``, or a clone of an
    estimator object (which is left untouched)."""
    if isinstance(estimator, str):
        return ESTIMATORS[estimator]()
    from sklearn.base import clone
    return clone(estimator)


def check_dataset(dataset: Any) -> str:
    """``dataset`` if it names a bundled dataset; otherwise an error listing those that exist."""
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise InvalidArgumentError(f'dataset {dataset!r} is not one of the datasets bundled with scikit-learn '
                                   f'that lazyplug-sklearn knows: {", ".join(DATASETS)}')
    return dataset


def check_split(test_size: Any, random_state: Any) -> None:
    """Raise an error naming the bad value unless ``0 < test_size < 1`` and ``random_state`` is an int."""
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise InvalidArgumentError(f'test_size is the held-out fraction of the dataset, a number between 0 and 1 '
                                   f'(exclusive), not {test_size!r}')
    if isinstance(random_state, bool) or not isinstance(random_state, int):
        raise InvalidArgumentError(f'random_state must be a whole number (it fixes the split), not {random_state!r}')


@dataclass(frozen=True)
class Split:
    """A dataset split into a training part and a held-out part (stratified by class).

    ``train_x``/``test_x`` are the feature rows the estimator sees, ``train_y``/``test_y`` the
    class numbers; ``sample_shape`` is the shape a caller sends a sample in (8x8 for the digits'
    images, the number of features otherwise); ``class_names[k]`` names class ``k``.
    """

    dataset: str
    train_x: Any
    train_y: Any
    test_x: Any
    test_y: Any
    sample_shape: tuple[int, ...]
    class_names: tuple[str, ...]

    @property
    def n_features(self) -> int:
        """The number of features of one sample."""
        return math.prod(self.sample_shape)

    def heldout(self) -> Heldout:
        """The held-out part as an application sees it."""
        samples = [row.reshape(self.sample_shape).tolist() for row in self.test_x]
        return Heldout(samples, [int(y) for y in self.test_y], self.class_names)


@functools.lru_cache(maxsize=16)
def load_split(dataset: str, test_size: float = 0.25, random_state: int = 0) -> Split:
    """Load the bundled ``dataset`` and split off ``test_size`` of it as the held-out part."""
    check_dataset(dataset)
    check_split(test_size, random_state)
    import sklearn.datasets
    from sklearn.model_selection import train_test_split
    bunch = getattr(sklearn.datasets, DATASETS[dataset])()
    train_x, test_x, train_y, test_y = train_test_split(
        bunch.data, bunch.target, test_size=test_size, random_state=random_state, stratify=bunch.target)
    images = getattr(bunch, 'images', None)
    shape = tuple(images.shape[1:]) if images is not None else (bunch.data.shape[1],)
    return Split(dataset, train_x, train_y, test_x, test_y, shape, tuple(str(n) for n in bunch.target_names))


class Heldout:
    """The held-out samples (``samples``, as nested lists a caller would send), their class numbers
    (``labels``) and the names of the classes (``class_names``).

    ``score`` is an evalset's ``collect_f``: give the samples to ``module.evalset`` and it turns the
    module's answers into ``{'accuracy': ...}``.
    """

    def __init__(self, samples: list[Any], labels: list[int], class_names: Sequence[str]) -> None:
        if not samples or len(samples) != len(labels):
            raise InvalidArgumentError(f'a held-out part needs samples and one label for each: got {len(samples)} '
                                       f'samples and {len(labels)} labels')
        self.samples = samples
        self.labels = labels
        self.class_names = tuple(class_names)

    def __len__(self) -> int:
        return len(self.samples)

    def score(self, outputs: Sequence[Any]) -> dict[str, float]:
        """The fraction of ``outputs`` that are right, rounded to 4 places: ``{'accuracy': 0.9867}``.

        An output is a class number (an int) or a class name (a str); it is right when it is the
        held-out sample's class.
        """
        if len(outputs) != len(self.labels):
            raise InvalidArgumentError(f'{len(outputs)} answers were given for {len(self.labels)} held-out samples')
        right = 0
        for output, label in zip(outputs, self.labels, strict=True):
            if isinstance(output, str):
                right += output == self.class_names[label]
            elif isinstance(output, int) and not isinstance(output, bool):
                right += output == label
            else:
                raise InvalidArgumentError(f'an answer to score must be a class number or a class name, '
                                           f'not {output!r}')
        return {'accuracy': round(right / len(self.labels), 4)}

    def __repr__(self) -> str:
        return f'<Heldout: {len(self.samples)} samples of {len(self.class_names)} classes>'
