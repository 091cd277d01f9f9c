"""The parts of the codelab's dashboard, one job each. Import the dashboard from
tensorflowvisu (`tensorflowvisu.MnistDataVis`, `tensorflowvisu.KerasDashboard`): its
docstring says what the dashboard shows, how the training loop feeds it, and which
module here does what."""
