"""Stage 5.0 against numpy, as tests/test_stages.py checks the other stages: the
network and loss at test time, and the gradients against finite differences.
numpy_forward_50() is what test_stages.numpy_forward would need for this stage
(VALID convolutions, 2x2 max pooling, batch norm with the moving averages, 4 layers)."""
import os, runpy, sys
import numpy as np

STAGE = sys.argv[1] if len(sys.argv) > 1 else "/tmp/speedrun/mnist_5.0_speedrun.py"


def numpy_conv_valid(X, W):
    k = W.shape[0]
    out = X.shape[1] - k + 1
    Y = np.zeros((X.shape[0], out, out, W.shape[3]))
    for dy in range(k):
        for dx in range(k):
            Y += X[:, dy:dy + out, dx:dx + out, :] @ W[dy, dx]
    return Y


def numpy_max_pool(X):
    n, h, w, c = X.shape
    return X[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def numpy_softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_forward_50(v, X, eps):
    bn = lambda Z, i: (Z - v[f"MEAN{i}"]) / np.sqrt(v[f"VAR{i}"] + eps) + v[f"B{i}"]
    Y = np.maximum(bn(numpy_max_pool(numpy_conv_valid(X, v["W1"])), 1), 0)
    Y = np.maximum(bn(numpy_max_pool(numpy_conv_valid(Y, v["W2"])), 2), 0)
    Y = np.maximum(bn(Y.reshape(len(X), -1) @ v["W3"], 3), 0)
    logits = Y @ v["W4"] + v["B4"]
    return logits, numpy_softmax(logits)


sys.argv = [STAGE, "--headless", "--iterations", "1"]
stage = runpy.run_path(STAGE, run_name="__main__")
import tensorflow as tf
rng = np.random.default_rng(1)
for var in stage["variables"]:
    values = rng.normal(0, 0.1, var.shape)
    if var.name.startswith("VAR"):
        values = np.abs(values) + 0.5
    var.assign(values.astype(np.float32))
values = {var.name.split(":")[0]: var.numpy().astype(np.float64) for var in stage["variables"]}
eps = stage["BN_EPSILON"]
X, Y_ = stage["mnist"].test.images[:50], stage["mnist"].test.labels[:50]
logits, probabilities = numpy_forward_50(values, X.astype(np.float64), eps)
Y, loss, accuracy = stage["loss_and_accuracy"](X, Y_)
np.testing.assert_allclose(Y.numpy(), probabilities, atol=2e-5)
np.testing.assert_allclose(float(loss), -np.mean(np.sum(Y_ * np.log(probabilities), 1)) * 100, rtol=1e-4)
assert abs(float(accuracy) - np.mean(np.argmax(probabilities, 1) == np.argmax(Y_, 1))) < 1e-6
print("network and loss match numpy")

X, Y_ = stage["mnist"].train.images[:5], stage["mnist"].train.labels[:5]
with tf.GradientTape() as tape:
    cross_entropy = stage["loss_and_accuracy"](X, Y_)[1]
gradients = tape.gradient(cross_entropy, stage["trainable"])
def numpy_loss():
    p = numpy_forward_50(values, X.astype(np.float64), eps)[1]
    return -np.mean(np.sum(Y_ * np.log(p), axis=1)) * 100
checked = 0
for var, gradient in zip(stage["trainable"], gradients):
    name, gradient = var.name.split(":")[0], gradient.numpy()
    for flat in np.argsort(-np.abs(gradient).ravel())[:3]:
        index = np.unravel_index(flat, gradient.shape)
        original = values[name][index]
        values[name][index] = original + 1e-6; up = numpy_loss()
        values[name][index] = original - 1e-6; down = numpy_loss()
        values[name][index] = original
        numeric = (up - down) / 2e-6
        assert abs(gradient[index] - numeric) <= 1e-3 + 1e-3 * abs(numeric), (name, index, gradient[index], numeric)
        checked += 1
print(f"gradients match finite differences ({checked} entries)")

# training mode: the fused op normalises with the batch's own statistics and updates the averages
Xb = stage["mnist"].train.images[:64]
before = [v.numpy().copy() for v in (stage["MEAN1"], stage["VAR1"])]
Z = tf.nn.max_pool2d(tf.nn.conv2d(Xb, stage["W1"], 1, "VALID"), 2, 2, "VALID")
out = stage["batchnorm"](Z, stage["B1"], stage["MEAN1"], stage["VAR1"], True, tf.constant(1000.0)).numpy()
z = Z.numpy().astype(np.float64)
expected = (z - z.mean(axis=(0, 1, 2))) / np.sqrt(z.var(axis=(0, 1, 2)) + eps) + values["B1"]
np.testing.assert_allclose(out, expected, atol=2e-4)
decay = min(stage["BN_DECAY"], 1001.0 / 1010.0)
np.testing.assert_allclose(stage["MEAN1"].numpy(), decay * before[0] + (1 - decay) * z.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)
print("batch norm in training normalises over batch, height, width and updates the moving mean")
