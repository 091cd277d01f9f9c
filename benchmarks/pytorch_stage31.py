r"""Stage 3.1 in PyTorch, on the CPU: the reference for a side-by-side timing.

The same network, initialisation, loss, optimiser, learning-rate schedule, batch
order source and test cadence as mnist_3.1_convolutional_bigger_dropout.py, and the
same output lines (the patterns in benchmarks/runs.py), so that benchmarks/bench_speed.py can time
both with one parser. Not part of the lesson; torch is not a project requirement.

    python3 benchmarks/pytorch_stage31.py                     # 10,000 steps
    python3 benchmarks/pytorch_stage31.py --iterations 200 --threads 2

  · · · · · · · · · ·        (input data, 1-deep)            X  [batch, 1, 28, 28]
  @ @ @ @ @ @ @ @ @ @     -- conv 6x6 stride 1, SAME, ReLU   W1 [6, 1, 6, 6]     B1 [6]
    ∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶                                     Y1 [batch, 6, 28, 28]
    @ @ @ @ @ @ @ @       -- conv 5x5 stride 2, SAME, ReLU   W2 [12, 6, 5, 5]    B2 [12]
      ∶∶∶∶∶∶∶∶∶∶∶∶∶                                       Y2 [batch, 12, 14, 14]
      @ @ @ @ @ @         -- conv 4x4 stride 2, SAME, ReLU   W3 [24, 12, 4, 4]   B3 [24]
        ∶∶∶∶∶∶∶∶∶                                         Y3 [batch, 24, 7, 7] => [batch, 1176]
       \x/x\x/x\x/        -- dense, ReLU, dropout 0.75 kept  W4 [200, 1176]      B4 [200]
        · · · · ·                                         Y4 [batch, 200]
        \x/x\x/           -- dense, softmax                  W5 [10, 200]        B5 [10]
         · · ·                                            Y  [batch, 10]
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import mnistdata  # noqa: E402  (the project's data module, at the repository root)

BATCH = 100
TRAIN_FIGURES_EVERY = 20  # steps between progress lines
TEST_FIGURES_EVERY = 100  # steps between test-set evaluations
PKEEP = 0.75  # dropout: probability of keeping a neuron of the dense layer in training


def same_pad(x, kernel, stride):
    """Zero-pad an NCHW tensor as TensorFlow's padding="SAME" does (extra pixel low-right)."""
    pads = []
    for size in (x.shape[3], x.shape[2]):  # F.pad lists the last dimension first
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 6, stride=1)
        self.conv2 = nn.Conv2d(6, 12, 5, stride=2)
        self.conv3 = nn.Conv2d(12, 24, 4, stride=2)
        self.dense4 = nn.Linear(7 * 7 * 24, 200)
        self.dense5 = nn.Linear(200, 10)
        self.dropout = nn.Dropout(p=1 - PKEEP)
        for layer in (self.conv1, self.conv2, self.conv3, self.dense4, self.dense5):
            nn.init.trunc_normal_(layer.weight, std=0.1, a=-0.2, b=0.2)  # as tf.random.truncated_normal
            nn.init.constant_(layer.bias, 0.1)  # small positive biases: ReLUs start alive

    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.relu(conv(same_pad(x, conv.kernel_size[0], conv.stride[0])))
        x = x.flatten(1)
        x = self.dropout(F.relu(self.dense4(x)))
        return self.dense5(x)  # logits; softmax lives in the loss and the predictions


def loss_and_accuracy(logits, labels):
    loss = F.cross_entropy(logits, labels) * 100  # mean over the batch, x100 as in the codelab
    accuracy = (logits.argmax(1) == labels).float().mean()
    return loss, accuracy


def to_tensors(images, labels):
    """[N, 28, 28, 1] float32 numpy (NHWC) -> [N, 1, 28, 28] torch (NCHW), int64 labels."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels).long()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=10000, help="training steps (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights, dropout and batch order")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: mnistdata's)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    mnist = mnistdata.read_data_sets(args.data_dir, one_hot=False, reshape=False, seed=args.seed)
    test_x, test_y = to_tensors(mnist.test.images, mnist.test.labels)
    model = ConvNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003, eps=1e-7)  # Keras' epsilon
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    max_test_accuracy = 0.0
    start = time.perf_counter()
    for step in range(args.iterations + 1):  # figures at 0 .. iterations, `iterations` training steps
        x, y = to_tensors(*mnist.train.next_batch(BATCH))
        lr = 0.0001 + 0.003 * math.exp(-step / 2000)
        if step % TRAIN_FIGURES_EVERY == 0:
            model.eval()
            with torch.no_grad():
                loss, accuracy = loss_and_accuracy(model(x), y)
            print(f"step {step}: training accuracy: {accuracy:.4f} loss: {loss:.4f} lr: {lr:.6f}", flush=True)
        if step % TEST_FIGURES_EVERY == 0 or step == args.iterations:
            model.eval()
            with torch.no_grad():
                loss, accuracy = loss_and_accuracy(model(test_x), test_y)
            max_test_accuracy = max(max_test_accuracy, accuracy.item())
            epoch = step * BATCH / mnist.train.num_examples
            print(f"step {step}: epoch {epoch:.2f} test accuracy: {accuracy:.4f} "
                  f"test loss: {loss:.4f}", flush=True)

        if step == args.iterations:
            break  # the last step only reports, as in trainer.py
        model.train()
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss, _ = loss_and_accuracy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = time.perf_counter() - start
    steps = args.iterations
    print(f"trained {steps} steps in {seconds:.1f} s ({steps / seconds:.1f} steps/s)")
    print(f"max test accuracy: {max_test_accuracy:.4f}")


if __name__ == "__main__":
    main()
