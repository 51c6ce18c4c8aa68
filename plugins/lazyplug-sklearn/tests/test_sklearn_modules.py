"""The modules of lazyplug.sklearn one by one, in this process (no server): found through the
installed entry point, trained in the train phase, checked inputs, and the held-out scoring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from sklearn_helpers import FLOOR

import lazyplug
from lazyplug.errors import InvalidArgumentError

pytestmark = pytest.mark.usefixtures('lazyplug_isolated')


def test_the_group_comes_from_the_installed_distribution_and_loads_only_when_touched():
    code = textwrap.dedent('''
        import sys
        import lazyplug
        print('lazyplug_sklearn' in sys.modules, 'sklearn' in sys.modules)
        classifier = lazyplug.sklearn.Classifier()
        print('lazyplug_sklearn.modules' in sys.modules, 'sklearn' in sys.modules)
        classifier.update(mode='train')
        print('sklearn' in sys.modules)
    ''')
    env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ['False', 'False', 'True', 'False', 'True']
    infos = {i.name: i for i in lazyplug.registry.list_module_entry_points()}
    assert infos['sklearn'].distribution == 'lazyplug-sklearn' and infos['sklearn'].status == 'loaded'


def test_the_lazyplug_command_lists_the_group_and_its_modules():
    command = os.path.join(os.path.dirname(sys.executable), 'lazyplug')
    env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    done = subprocess.run([command, 'plugins', '--json'], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    [mine] = [c for c in json.loads(done.stdout) if c['distribution'] == 'lazyplug-sklearn']
    assert mine['module_groups'] == [{'group': 'sklearn', 'modules': ['Classifier', 'Flatten', 'ClassName']}]
    assert [(e['name'], e['status']) for e in mine['module_entry_points']] == [('sklearn', 'loaded')]
    assert mine['hook_plugins'] == mine['launchers'] == mine['registry_schemes'] == mine['cache_strategies'] == []


def test_the_classifier_trains_in_the_train_phase_and_then_classifies():
    classifier = lazyplug.sklearn.Classifier('iris')
    from lazyplug_sklearn.modules import NotTrainedError  # as loaded by the entry point, in this test's registry
    heldout = classifier.heldout()
    with pytest.raises(NotTrainedError, match='is not trained'):
        classifier(heldout.samples[0])
    classifier.update(mode='train')
    answers = [classifier(sample) for sample in heldout.samples]
    assert classifier.trained and heldout.score(answers)['accuracy'] >= FLOOR


def test_its_train_task_is_named_for_what_it_fits():
    # the task's repr is what progress output and TaskFailedError show
    task = lazyplug.sklearn.Classifier('wine', 'k_neighbors')._get_train_tasks()
    assert repr(task) == '<fit k_neighbors on the training part of wine>'


def test_an_estimator_object_is_cloned_and_left_unfitted():
    from sklearn.exceptions import NotFittedError
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.utils.validation import check_is_fitted
    tree = DecisionTreeClassifier(random_state=0)
    classifier = lazyplug.sklearn.Classifier('iris', tree).update(mode='train')
    assert classifier.estimator_name == 'DecisionTreeClassifier' and classifier.trained
    with pytest.raises(NotFittedError):
        check_is_fitted(tree)


def test_the_classifier_takes_a_flat_sample_and_points_to_flatten_otherwise():
    classifier = lazyplug.sklearn.Classifier('digits').update(mode='train')
    image = classifier.heldout().samples[0]
    with pytest.raises(InvalidArgumentError, match=r'flat list of 64 finite numbers.*Flatten'):
        classifier(image)
    assert isinstance(classifier(lazyplug.sklearn.Flatten(64)(image)), int)
    from lazyplug_sklearn.data import load_split
    split = load_split('digits')
    assert classifier(split.test_x[0]) == split.test_y[0]  # a numpy row is a flat sample too


@pytest.mark.parametrize(('kwargs', 'message'), [
    ({'dataset': 'mnist'}, r"dataset 'mnist' is not one of .*digits, iris, wine, breast_cancer"),
    ({'estimator': 'forest'}, r"estimator 'forest' is not one of svc, logistic_regression"),
    ({'estimator': object()}, r'estimator must be one of .* or a scikit-learn classifier'),
    ({'test_size': 1.5}, r'test_size .* between 0 and 1 .*not 1.5'),
    ({'random_state': 'x'}, r"random_state must be a whole number .*not 'x'"),
])
def test_bad_arguments_are_named_with_what_would_be_valid(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        lazyplug.sklearn.Classifier(**kwargs)


def test_flatten_turns_nested_numbers_into_a_checked_flat_list():
    import numpy as np
    flatten = lazyplug.sklearn.Flatten(4)
    assert flatten([[1, 2], (3, 4.5)]) == [1.0, 2.0, 3.0, 4.5]
    assert flatten(np.arange(4).reshape(2, 2)) == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(InvalidArgumentError, match='must hold 4 numbers, not 3'):
        flatten([1, 2, 3])
    with pytest.raises(InvalidArgumentError, match="'x' in"):
        flatten([[1, 'x'], [3, 4]])
    with pytest.raises(InvalidArgumentError, match='nan'):
        flatten([1, 2, 3, float('nan')])
    with pytest.raises(InvalidArgumentError, match='size is the number of values'):
        lazyplug.sklearn.Flatten(0)


def test_class_name_names_the_class_of_a_number():
    assert lazyplug.sklearn.ClassName('digits')(7) == '7'
    assert lazyplug.sklearn.ClassName('iris')(0) == 'setosa'
    with pytest.raises(InvalidArgumentError, match=r'3 is not a class number of iris \(0 to 2\)'):
        lazyplug.sklearn.ClassName('iris')(3)


def test_the_held_out_part_is_fixed_by_the_random_state_and_kept_apart():
    from lazyplug_sklearn.data import load_split
    heldout = lazyplug.sklearn.Classifier('digits', test_size=0.25, random_state=0).heldout()
    again = lazyplug.sklearn.Classifier('digits', test_size=0.25, random_state=0).heldout()
    other = lazyplug.sklearn.Classifier('digits', test_size=0.25, random_state=1).heldout()
    assert heldout.samples == again.samples and heldout.samples != other.samples
    split = load_split('digits', 0.25, 0)
    assert len(heldout) == len(split.test_y) == 450 and len(split.train_y) == 1797 - 450
    assert all(len(image) == 8 and len(image[0]) == 8 for image in heldout.samples)


def test_score_counts_right_class_numbers_and_names_and_a_constant_guess_is_far_below_the_floor():
    heldout = lazyplug.sklearn.Classifier('digits').heldout()
    assert heldout.score(heldout.labels) == {'accuracy': 1.0}
    assert heldout.score([heldout.class_names[y] for y in heldout.labels]) == {'accuracy': 1.0}
    assert heldout.score([0] * len(heldout))['accuracy'] < FLOOR / 2
    with pytest.raises(InvalidArgumentError, match='2 answers were given for 450'):
        heldout.score([1, 2])
    with pytest.raises(InvalidArgumentError, match=r'class number or a class name, not 1\.0'):
        heldout.score([1.0] * len(heldout))
