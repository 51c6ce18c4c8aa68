"""Handwritten digits: a scikit-learn classifier trained, served and evaluated by lazyplug.

    python3 -m pip install . plugins/lazyplug-sklearn
    lazyplug update examples/digits.py:app      # or: python3 examples/digits.py

``app`` reads an 8x8 image of a digit (grey levels 0-16, as nested lists) and answers which digit
it is, in three steps: ``preprocess`` flattens the image into 64 numbers (in this process),
``classifier`` classifies them in a server of its own (a ServerModule), ``postprocess`` names the
class. ``update()`` trains the classifier on three quarters of the digits bundled with
scikit-learn, starts its server, then evaluates the whole application on the held-out quarter:
``app.eval_result`` is its accuracy. ``stop()`` ends the server.
"""

import lazyplug

classifier = lazyplug.sklearn.Classifier('digits', estimator='svc', test_size=0.25, random_state=0)
heldout = classifier.heldout()  # the images the classifier never trains on

with lazyplug.pipeline() as digits:
    digits.preprocess = lazyplug.sklearn.Flatten(size=64)
    digits.classifier = lazyplug.ServerModule(classifier)
    digits.postprocess = lazyplug.sklearn.ClassName('digits')

app = lazyplug.ActionModule(digits)
app.evalset(heldout.samples, collect_f=heldout.score)


def main() -> None:
    """Show the tree, train, deploy and evaluate it, classify one image, and stop."""
    print(app)
    try:
        app.update()
        print('accuracy on the held-out digits:', app.eval_result['accuracy'])
        image, label = heldout.samples[0], heldout.labels[0]
        print(f'an image of a {label} is read as a {app(image)}')
    finally:
        app.stop()


if __name__ == '__main__':
    main()
