"""lazyplug-sklearn: scikit-learn classifiers as lazyplug modules, in the module group ``sklearn``.

Installing the distribution makes ``lazyplug.sklearn.Classifier``, ``lazyplug.sklearn.Flatten``
and ``lazyplug.sklearn.ClassName`` exist (see :mod:`lazyplug_sklearn.modules`); nothing here is
imported before ``lazyplug.sklearn`` is first touched, and scikit-learn not before a dataset or an
estimator is needed.
"""

__version__ = '0.1.0'
