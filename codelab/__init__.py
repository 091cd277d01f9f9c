"""The codelab's plumbing: what the stage scripts, trainer.py, predict.py and the tests
share, out of a learner's way. A learner opens the files at the top level; nothing here
is part of a lesson."""
