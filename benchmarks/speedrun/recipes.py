"""Speedrun experiments for stage 5.0 (99 % in ten seconds): one configuration
per run, one JSON line appended to recipes.jsonl (not kept in the repository; README.md
summarises the first 100 runs).

python exp.py --arch c5s2x32,c3s2x64,f --bs 256 --epochs 1 --lr 3e-3 --seed 0
Layers: cKsSxC conv KxK stride S to C channels (+BN+ReLU); p max pool 2x2;
g global average pool; dN dense N (+BN+ReLU); f flatten; last dense to 10 added.
"""
import os
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import argparse, json, math, sys, time
t_launch = time.perf_counter()
import numpy as np
import tensorflow as tf
import keras
t_tf = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import mnistdata

p = argparse.ArgumentParser()
p.add_argument("--arch", default="c5s2x32,c3s2x64,f")
p.add_argument("--bs", type=int, default=256)
p.add_argument("--epochs", type=float, default=1.0)
p.add_argument("--steps", type=int, default=0, help="overrides epochs")
p.add_argument("--opt", default="adam")  # adam, nesterov, rawadam
p.add_argument("--lr", type=float, default=3e-3)
p.add_argument("--sched", default="onecycle")  # onecycle (linear warmup, linear down), cos, const, exp
p.add_argument("--warm", type=float, default=0.2, help="warm-up fraction")
p.add_argument("--final", type=float, default=0.0, help="final lr fraction of peak")
p.add_argument("--ls", type=float, default=0.0, help="label smoothing")
p.add_argument("--shift", type=int, default=0, help="random shift in pixels")
p.add_argument("--dtype", default="float32")  # float32, bfloat16 (compute)
p.add_argument("--jit", type=int, default=0)
p.add_argument("--chunk", type=int, default=0, help="steps per tf.function call, 0 = all")
p.add_argument("--feed", default="graph")  # graph: gather in-graph; numpy: gather in numpy per call
p.add_argument("--bn", default="fused")  # fused, moments, none
p.add_argument("--bnm", type=float, default=0.9, help="BN moving average decay")
p.add_argument("--bnscale", type=int, default=0)
p.add_argument("--drop", type=float, default=0.0)
p.add_argument("--wd", type=float, default=0.0)
p.add_argument("--b2", type=float, default=0.999)
p.add_argument("--b1", type=float, default=0.9)
p.add_argument("--init", default="he")
p.add_argument("--midtest", type=int, default=0, help="number of extra test passes spread in the run")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=0)
p.add_argument("--tag", default="")
p.add_argument("--log", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipes.jsonl"))
a = p.parse_args()
if a.threads:
    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

mnist = mnistdata.read_data_sets(one_hot=True, reshape=False, seed=a.seed)
keras.utils.set_random_seed(a.seed)
t_data = time.perf_counter()
N_TRAIN = 60000
steps = a.steps or int(round(a.epochs * N_TRAIN / a.bs))
CD = tf.bfloat16 if a.dtype == "bfloat16" else tf.float32

# ----------------------------------------------------------------- variables
params, bnvars, layers = [], [], []
c_in, h = 1, 28
for spec in a.arch.split(","):
    if spec[0] == "c":
        valid = "v" in spec; pooled = "p" in spec[1:]
        k, rest = spec[1:].replace("v", "").replace("p", "").split("s"); s, c = rest.split("x"); k, s, c = int(k), int(s), int(c)
        std = math.sqrt(2.0 / (k * k * c_in))
        W = tf.Variable(tf.random.truncated_normal([k, k, c_in, c], stddev=std))
        O = tf.Variable(tf.zeros([c]))
        G = tf.Variable(tf.ones([c])) if a.bnscale else None
        M, V = tf.Variable(tf.zeros([c]), trainable=False), tf.Variable(tf.ones([c]), trainable=False)
        params += [W, O] + ([G] if G is not None else []); bnvars += [M, V]
        layers.append(("conv", W, O, G, M, V, s, valid, pooled))
        h = (h - k + 1 + s - 1) // s if valid else (h + s - 1) // s
        c_in, h = c, (h // 2 if pooled else h)
    elif spec[0] == "p":
        layers.append(("pool",)); h //= 2
    elif spec[0] == "g":
        layers.append(("gap",)); h = 1
    elif spec[0] == "f":
        layers.append(("flat",)); c_in = c_in * h * h; h = 1
    elif spec[0] == "d":
        n = int(spec[1:])
        W = tf.Variable(tf.random.truncated_normal([c_in, n], stddev=math.sqrt(2.0 / c_in)))
        O = tf.Variable(tf.zeros([n]))
        M, V = tf.Variable(tf.zeros([n]), trainable=False), tf.Variable(tf.ones([n]), trainable=False)
        params += [W, O]; bnvars += [M, V]
        layers.append(("dense", W, O, None, M, V, 1)); c_in = n
W_out = tf.Variable(tf.random.truncated_normal([c_in, 10], stddev=math.sqrt(1.0 / c_in)))
B_out = tf.Variable(tf.zeros([10]))
params += [W_out, B_out]
n_params = sum(int(np.prod(v.shape)) for v in params)


def bn(x, O, G, M, V, training):
    scale = G if G is not None else tf.ones_like(O)
    if a.bn == "none":
        return x + tf.cast(O, x.dtype)
    if a.bn == "fused" and len(x.shape) == 4:
        if training:
            y, mean, var = tf.compat.v1.nn.fused_batch_norm(
                x, scale, O, epsilon=1e-5, is_training=True)[:3]
            M.assign(a.bnm * M + (1 - a.bnm) * mean)
            V.assign(a.bnm * V + (1 - a.bnm) * var)
            return y
        return tf.compat.v1.nn.fused_batch_norm(x, scale, O, mean=M, variance=V, epsilon=1e-5,
                                                 is_training=False)[0]
    if training:
        axes = list(range(len(x.shape) - 1))
        mean, var = tf.nn.moments(tf.cast(x, tf.float32), axes=axes)
        M.assign(a.bnm * M + (1 - a.bnm) * mean)
        V.assign(a.bnm * V + (1 - a.bnm) * var)
    else:
        mean, var = M, V
    inv = tf.math.rsqrt(var + 1e-5) * scale
    return x * tf.cast(inv, x.dtype) + tf.cast(O - mean * inv, x.dtype)


def model(X, training=False):
    Y = tf.cast(X, CD)
    for L in layers:
        if L[0] == "conv":
            _, W, O, G, M, V, s, valid, pooled = L
            Y = tf.nn.conv2d(Y, tf.cast(W, CD), strides=s, padding="VALID" if valid else "SAME")
            if pooled:
                Y = tf.nn.max_pool2d(Y, 2, 2, "VALID")
            Y = tf.nn.relu(bn(Y, O, G, M, V, training))
        elif L[0] == "pool":
            Y = tf.nn.max_pool2d(Y, 2, 2, "VALID")
        elif L[0] == "gap":
            Y = tf.reduce_mean(Y, axis=[1, 2])
        elif L[0] == "flat":
            Y = tf.reshape(Y, [tf.shape(Y)[0], -1])
        elif L[0] == "dense":
            _, W, O, G, M, V, s = L
            Y = tf.nn.relu(bn(tf.matmul(Y, tf.cast(W, CD)), O, G, M, V, training))
            if training and a.drop:
                Y = tf.nn.dropout(Y, rate=a.drop)
    return tf.cast(tf.matmul(Y, tf.cast(W_out, CD)), tf.float32) + B_out


def loss_fn(X, Y_, training):
    logits = model(X, training)
    labels = Y_ * (1 - a.ls) + a.ls / 10 if (training and a.ls) else Y_
    ce = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(Y_, 1)), tf.float32))
    return ce, correct


def lr_at(step):
    t = step / steps
    if a.sched == "onecycle":
        w = a.warm
        up = t / w if w > 0 else 1.0
        down = a.final + (1 - a.final) * (1 - t) / (1 - w)
        return a.lr * tf.where(t < w, up, down)
    if a.sched == "cos":
        w = a.warm
        up = t / w if w > 0 else 1.0
        down = a.final + (1 - a.final) * 0.5 * (1 + tf.cos(math.pi * (t - w) / (1 - w)))
        return a.lr * tf.where(t < w, up, down)
    if a.sched == "exp":
        return a.lr * tf.exp(-3.0 * t)
    return tf.constant(a.lr)


if a.opt == "adam":
    opt = keras.optimizers.Adam(learning_rate=a.lr, beta_1=a.b1, beta_2=a.b2)
elif a.opt == "adamw":
    opt = keras.optimizers.AdamW(learning_rate=a.lr, weight_decay=a.wd, beta_2=a.b2)
elif a.opt == "nesterov":
    opt = keras.optimizers.SGD(learning_rate=a.lr, momentum=0.9, nesterov=True)
else:
    opt = None
if opt is not None:
    opt.build(params)
else:  # raw fused Adam: one op per variable
    slots = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in params]
    beta1_power = tf.Variable(1.0); beta2_power = tf.Variable(1.0)

train_X = tf.constant(mnist.train.images)
train_Y = tf.constant(mnist.train.labels)
test_X = tf.constant(mnist.test.images)
test_Y = tf.constant(mnist.test.labels)


def augment(X):
    if not a.shift:
        return X
    s = a.shift
    Xp = tf.pad(X, [[0, 0], [s, s], [s, s], [0, 0]])
    # one random shift per batch-element via random crop is costly; use per-batch shift pairs
    dx = tf.random.uniform([], 0, 2 * s + 1, dtype=tf.int32)
    dy = tf.random.uniform([], 0, 2 * s + 1, dtype=tf.int32)
    return tf.slice(Xp, [0, dy, dx, 0], [-1, 28, 28, 1])


def train_step(X, Y_, step):
    lr = lr_at(step)
    with tf.GradientTape() as tape:
        ce, _ = loss_fn(augment(X), Y_, True)
    grads = tape.gradient(ce, params)
    if opt is not None:
        opt.learning_rate.assign(lr)
        opt.apply_gradients(zip(grads, params))
    else:
        beta1_power.assign(beta1_power * a.b1); beta2_power.assign(beta2_power * a.b2)
        for v, g, (m, s) in zip(params, grads, slots):
            tf.raw_ops.ResourceApplyAdam(var=v.handle, m=m.handle, v=s.handle,
                                         beta1_power=beta1_power, beta2_power=beta2_power,
                                         lr=lr, beta1=a.b1, beta2=a.b2, epsilon=1e-7, grad=g)
    return ce


if a.feed == "graph":
    @tf.function(jit_compile=bool(a.jit))
    def train_steps(idx, first):  # idx [k, bs] int32
        losses = tf.TensorArray(tf.float32, size=tf.shape(idx)[0])
        for k in tf.range(tf.shape(idx)[0]):
            X = tf.gather(train_X, idx[k]); Y_ = tf.gather(train_Y, idx[k])
            losses = losses.write(k, train_step(X, Y_, first + tf.cast(k, tf.float32)))
        return losses.stack()
else:
    @tf.function(jit_compile=bool(a.jit))
    def train_steps(Xs, Ys, first):
        losses = tf.TensorArray(tf.float32, size=tf.shape(Xs)[0])
        for k in tf.range(tf.shape(Xs)[0]):
            losses = losses.write(k, train_step(Xs[k], Ys[k], first + tf.cast(k, tf.float32)))
        return losses.stack()


@tf.function
def evaluate(X, Y_):
    return loss_fn(X, Y_, False)


def test_pass():
    correct = 0.0
    for b in range(0, 10000, 2000):
        _, c = evaluate(test_X[b:b + 2000], test_Y[b:b + 2000])
        correct += float(c)
    return correct / 10000


# batch order: mnistdata's reshuffled epochs, bs images per step
order = np.stack([mnist.train.next_batch_indices(a.bs) for _ in range(steps)]).astype(np.int32)
chunk = a.chunk or steps
calls = [(s, min(s + chunk, steps)) for s in range(0, steps, chunk)]
test_at = set()
if a.midtest:
    test_at = {int(steps * (i + 1) / (a.midtest + 1)) for i in range(a.midtest)}

t0 = time.perf_counter(); c0 = time.process_time()
trace_t = None
tests = []
t99 = None
for (s, e) in calls:
    if a.feed == "graph":
        losses = train_steps(tf.constant(order[s:e]), tf.constant(float(s)))
    else:
        Xs = mnist.train.images[order[s:e]]; Ys = mnist.train.labels[order[s:e]]
        losses = train_steps(Xs, Ys, tf.constant(float(s)))
    last_loss = float(losses[-1])
    if trace_t is None:
        trace_t = time.perf_counter() - t0
    if e in test_at:
        acc = test_pass(); tests.append((e, acc, time.perf_counter() - t0))
t_train = time.perf_counter() - t0
acc = test_pass()
t_loop = time.perf_counter() - t0
cpu_loop = time.process_time() - c0
tests.append((steps, acc, t_loop))
for st, ac, tt in tests:
    if ac >= 0.99 and t99 is None:
        t99 = tt
# second test pass timing (traced already)
t1 = time.perf_counter(); test_pass(); t_test = time.perf_counter() - t1
load = os.getloadavg()[0]
rec = dict(vars(a), steps_total=steps, n_params=n_params, acc=acc, loop_s=round(t_loop, 2),
           train_s=round(t_train, 2), first_call_s=round(trace_t, 2), test_s=round(t_test, 3),
           t99=None if t99 is None else round(t99, 2), tests=tests, last_loss=last_loss,
           cpu_s=round(cpu_loop, 2), startup_s=round(t0 - t_launch, 2), import_s=round(t_tf - t_launch, 2),
           load1=round(load, 2), time=time.strftime("%H:%M:%S"))
del rec["log"]
print(json.dumps(rec))
with open(a.log, "a") as f:
    f.write(json.dumps(rec) + "\n")
