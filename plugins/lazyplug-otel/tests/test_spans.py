"""What the plugin records, read from OpenTelemetry's in-memory exporter: a span per module and
flow call nested as the calls run, per update, phase and task, errors with their type and
message, inputs and outputs cut short or not recorded at all."""

from __future__ import annotations

import itertools
import threading

import lazyplug
import pytest
from lazyplug import config
from opentelemetry.trace import SpanKind, StatusCode


class Add(lazyplug.ModuleBase):
    def __init__(self, n=1, **kw):
        super().__init__(**kw)
        self.n = n

    def forward(self, x):
        return x + self.n


class Boom(lazyplug.ModuleBase):
    def forward(self, x):
        raise ValueError(f'cannot take {x}')


class Echo(lazyplug.ModuleBase):
    def forward(self, *args, **kw):
        return args[0] if len(args) == 1 and not kw else (args, kw)


class Trained(lazyplug.ModuleBase):
    def __init__(self, fail=False, **kw):
        super().__init__(**kw)
        self.fail = fail

    def _get_train_tasks(self):
        return self.learn

    def learn(self):
        if self.fail:
            raise RuntimeError('no data')

    def forward(self, x):
        return x


# -- module and flow calls ------------------------------------------------------------------------

def test_a_module_call_is_a_span_named_after_the_module_with_its_type_id_input_and_output(spans):
    module = Add(name='plus')
    assert module(1) == 2
    span = spans.one('Add(plus)')
    assert span.kind == SpanKind.INTERNAL and span.status.status_code == StatusCode.UNSET
    assert dict(span.attributes) == {
        'lazyplug.module.type': f'{__name__}.Add', 'lazyplug.module.id': module._module_id,
        'lazyplug.module.name': 'plus', 'input.value': '1', 'output.value': '2'}


def test_a_pipelines_items_are_its_children_in_the_order_they_ran(spans):
    flow = lazyplug.pipeline(Add(name='a'), Add(name='b'), Add(name='c'))
    assert flow(0) == 3
    pipeline = spans.one('Pipeline')
    assert spans.tree(pipeline) == ('Pipeline', [('Add(a)', []), ('Add(b)', []), ('Add(c)', [])])
    kids = spans.children(pipeline)
    assert all(a.end_time <= b.start_time for a, b in itertools.pairwise(kids))
    assert pipeline.attributes['lazyplug.flow.type'] == 'lazyplug.flow.pipelines.Pipeline'
    assert (pipeline.attributes['lazyplug.flow.items'], pipeline.attributes['output.value']) == (3, '3')


def test_a_parallel_flows_items_are_siblings_under_it_though_they_run_on_other_threads(spans):
    threads = set()
    together = threading.Barrier(4, timeout=10)  # the items wait for each other: four threads

    class Where(lazyplug.ModuleBase):
        def forward(self, x):
            threads.add(threading.get_ident())
            together.wait()
            return x

    flow = lazyplug.pipeline(Add(name='first'), lazyplug.parallel(*(Where(name=str(i)) for i in range(4))))
    assert flow(1) == (2, 2, 2, 2)
    assert len(threads) == 4
    parallel = spans.one('Parallel')
    assert sorted(name for name, _ in spans.tree(parallel)[1]) == ['Where(0)', 'Where(1)', 'Where(2)', 'Where(3)']
    assert spans.tree(spans.one('Pipeline')) == ('Pipeline', [('Add(first)', []), spans.tree(parallel)])
    assert len({span.context.trace_id for span in spans.all}) == 1


def test_nested_flows_and_a_module_made_of_a_flow_nest_their_spans(spans):
    app = lazyplug.ActionModule(lazyplug.pipeline(Add(name='a'), lazyplug.warp(Add(name='w'))), Echo())
    assert app(1) == 3  # warp makes a package of one output, which Echo gets spread
    root, = spans.roots()
    assert spans.tree(root) == ('ActionModule', [('Pipeline', [('Pipeline', [
        ('Add(a)', []), ('Warp', [('Add(w)', [])])]), ('Echo', [])])])


def test_a_failed_call_records_the_error_on_its_span_and_on_each_enclosing_one(spans):
    flow = lazyplug.pipeline(Add(), Boom())
    with pytest.raises(ValueError, match='cannot take 2') as raised:
        flow(1)
    boom, pipeline = spans.one('Boom'), spans.one('Pipeline')
    for span in (boom, pipeline):
        assert span.status.status_code == StatusCode.ERROR
        assert span.status.description == 'ValueError: cannot take 2'
        assert span.attributes['error.type'] == 'ValueError'
        event, = span.events
        assert event.name == 'exception' and event.attributes['exception.type'] == 'ValueError'
        assert event.attributes['exception.message'] == 'cannot take 2'
    assert 'output.value' not in boom.attributes
    assert spans.one('Add').status.status_code == StatusCode.UNSET
    assert type(raised.value) is ValueError  # the caller gets the exception itself


def test_an_exception_that_cannot_be_described_still_reaches_the_caller_and_fails_its_span(spans):
    class MuteError(Exception):
        def __str__(self):
            raise RuntimeError('no words')

    class Fails(lazyplug.ModuleBase):
        def forward(self, x):
            raise MuteError

    with pytest.raises(MuteError):
        Fails()(1)
    span = spans.one('Fails')
    assert (span.status.status_code, span.status.description) == (StatusCode.ERROR, 'MuteError')
    assert span.attributes['error.type'].endswith('MuteError')


def test_keyword_arguments_and_several_values_are_recorded_as_a_call_writes_them(spans):
    Echo()(1, 'a', k=[2])
    assert spans.one('Echo').attributes['input.value'] == "1, 'a', k=[2]"


def test_a_lone_string_is_recorded_as_it_is(spans):
    Echo()('hello "world"')
    span = spans.one('Echo')
    assert (span.attributes['input.value'], span.attributes['output.value']) == ('hello "world"', 'hello "world"')


def test_an_input_longer_than_the_setting_is_cut_short(spans):
    with config.temp('otel_max_length', 10):
        Echo()('x' * 50)
        Echo()(list(range(10_000)))
    short, big = spans.named('Echo')
    assert short.attributes['input.value'] == 'x' * 10 + '…'
    assert big.attributes['input.value'] == '[0, 1, 2, …'


def test_a_large_container_is_abbreviated_before_it_is_cut(spans):
    Echo()(list(range(10_000)))
    assert spans.one('Echo').attributes['input.value'].endswith('98, 99, ...]')


def test_with_capture_off_no_input_or_output_is_recorded(spans):
    with config.temp('otel_capture', False):
        lazyplug.pipeline(Echo())('a secret')
    assert spans.all and not any({'input.value', 'output.value'} & set(span.attributes) for span in spans.all)


def test_a_value_whose_repr_fails_is_described_and_the_call_goes_on(spans):
    class Opaque:
        def __repr__(self):
            raise RuntimeError('no repr')

    value = Opaque()
    assert Echo()(value) is value
    assert spans.one('Echo').attributes['input.value'] == '<Opaque whose repr() failed: RuntimeError: no repr>'


# -- update(), phases and tasks -------------------------------------------------------------------

def test_an_update_is_a_span_with_a_span_per_phase_and_one_per_task_under_it(spans):
    app = lazyplug.ActionModule(Trained(name='model'))
    app.evalset([1, 2])
    app.update()
    update = spans.one('update ActionModule')
    assert update.attributes['lazyplug.modes'] == ('train', 'deploy', 'eval')
    assert update.attributes['lazyplug.modules'] == 2
    phases = spans.tree(update)[1]
    assert [name for name, _ in phases] == ['train', 'deploy', 'eval', 'post']
    assert phases[0] == ('train', [('train Trained(model).learn', [])])
    assert phases[1] == ('deploy', []) and phases[3] == ('post', [])
    (task, calls), = phases[2][1]
    assert task == 'eval ActionModule'
    assert [name for name, _ in calls] == ['ActionModule', 'ActionModule']  # the two items, siblings
    train = spans.one('train')
    assert (train.attributes['lazyplug.phase'], train.attributes['lazyplug.tasks']) == ('train', 1)
    learn = spans.one('train Trained(model).learn')
    assert learn.attributes['lazyplug.task'] == '#0 Trained(model).learn'
    assert learn.attributes['lazyplug.module.name'] == 'model'


@pytest.mark.parametrize('run, name', [(lambda m: m.start(), 'start Trained'), (lambda m: m.eval(), 'eval Trained'),
                                       (lambda m: m.update(mode=['train', 'eval']), 'update Trained')])
def test_start_and_eval_are_named_for_what_they_do(spans, run, name):
    run(Trained())
    assert spans.one(name).attributes['lazyplug.module.type'] == f'{__name__}.Trained'


def test_a_failed_task_fails_its_span_its_phase_and_the_update(spans):
    with pytest.raises(lazyplug.errors.TaskFailedError):
        Trained(fail=True).update()
    task = spans.one('train Trained.learn')
    assert task.status.description == 'RuntimeError: no data'
    assert spans.one('train').status.description.startswith('TaskFailedError: train task #0 Trained.learn failed')
    assert spans.one('update Trained').status.status_code == StatusCode.ERROR
    assert not spans.named('deploy')  # the update ended at the failed phase


def test_tasks_run_by_several_workers_stay_under_their_phase(spans):
    app = lazyplug.ActionModule(*(Trained(name=str(i)) for i in range(4)))
    app.update(mode='train', workers=4)
    train = spans.one('train')
    assert sorted(name for name, _ in spans.tree(train)[1]) == [f'train Trained({i}).learn' for i in range(4)]
