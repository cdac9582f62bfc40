"""``ganjax bench``: the speed of the train steps, sampling and the input pipeline.

Prints one JSON line per measurement, each with ``name`` and ``images_per_s`` (``run`` lists
them): the DCGAN and MLP train steps exactly as ``ganjax train`` builds them, vmapped seeds,
sampling and the data pipeline. Step lines also give the step's FLOPs (XLA's cost analysis)
against a measured matmul peak, XLA's buffer sizes, peak resident memory and minor page
faults per step; the DCGAN line also what an async checkpoint costs. ``--compare torch``
times the same DCGAN in PyTorch (``ganjax.bench_torch``) in the same process and prints the
ratio ``dcgan_step_vs_torch`` (> 1: ganjax is faster), on the GPU when JAX runs on one.
Timings are medians over ``--repeats`` blocks of ``--steps`` steps, after warm-up; measured
tables are in docs/performance.md.
"""

import json
import os
import resource
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from ganjax import config as config_lib
from ganjax import cpu, data, latents
from ganjax.parallel import DataParallel
from ganjax.timing import median_seconds

MATMUL_N = 2048


def model_config(model: str, batch: int, upsample: str = "subpixel",
                 compute_dtype: str = "float32", fast_paths: str = "auto"):
  """The benchmarked experiment: the tutorial DCGAN or the MLP GAN, Adam 2e-4 β1 0.5, its
  matmuls and convolutions in ``compute_dtype`` (parameters stay float32), with the CPU
  fast paths ``fast_paths`` (``ganjax.cpu``)."""
  config = config_lib.base_config()
  if model == "dcgan":
    config.model = config_lib.dcgan28_model(width=64, kernel_size=5)
    config.model.generator.upsample = upsample
  elif model == "mlp":
    config.model = config_lib.mlp_model()
  else:
    raise ValueError(f"unknown bench model {model!r}; choose dcgan or mlp")
  config.model.compute_dtype = compute_dtype
  config.fast_paths = fast_paths
  config.data.name = "fashion_mnist"
  config.batch_size = batch
  config.data.image_shape = (28, 28, 1)
  return config


def matmul_peak(repeats: int = 5) -> float:
  """GFLOP/s of a float32 ``MATMUL_N``² matmul: the machine's practical compute peak."""
  a = jnp.ones((MATMUL_N, MATMUL_N), jnp.float32)
  matmul = jax.jit(lambda x: x @ x)
  matmul(a).block_until_ready()
  seconds = median_seconds(lambda: matmul(a).block_until_ready(), 3, repeats)
  return 2 * MATMUL_N ** 3 / seconds / 1e9


def _peak_rss_mb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def bench_step(name: str, config, steps: int, repeats: int, peak_gflops: float,
               mode: str = "shard_map", devices: int = 1, checkpoint_every: int = 0) -> dict:
  """Images/s, FLOPs and memory of ``config``'s train step on random data."""
  from ganjax import experiment
  exp = experiment.build(config, config.data.image_shape)
  parallel = DataParallel(mode, devices)
  parallel.check_batch(config.batch_size)
  step = parallel.compile(exp.train_step(config.batch_size))
  rng = np.random.default_rng(0)
  shape = (config.n_critic, config.batch_size, *config.data.image_shape)
  batch = parallel.put_batch({"image": rng.uniform(-1, 1, shape).astype(np.float32),
                              "label": np.zeros(shape[:2], np.int32)})
  holder = {"state": parallel.put_state(experiment.initial_state(exp))}
  compiled = step.lower(holder["state"], batch).compile() if mode == "shard_map" else None

  def one_step():
    holder["state"], metrics = step(holder["state"], batch)
    jax.block_until_ready(metrics)

  for _ in range(3):
    one_step()
  faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  seconds = median_seconds(one_step, steps, repeats)
  faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
  result = {"name": name, "images_per_s": round(config.batch_size / seconds, 1),
            "ms_per_step": round(1e3 * seconds, 2), "batch": config.batch_size,
            "parallel": f"{mode}x{parallel.num_devices}",
            # Pages the kernel maps in per step; thousands mean freed buffers went back to
            # it (see ganjax.cpu.host_memory).
            "minor_page_faults_per_step": round(faults / (steps * repeats))}
  if checkpoint_every:
    result.update(checkpoint_overhead(parallel, holder, one_step, steps, seconds,
                                      checkpoint_every))
  if compiled is not None:
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    flops = float(cost.get("flops", float("nan"))) if cost else float("nan")
    memory = compiled.memory_analysis()
    result.update(gflop_per_step=round(flops / 1e9, 3),
                  achieved_gflop_per_s=round(flops / seconds / 1e9, 1),
                  fraction_of_matmul_peak=round(flops / seconds / 1e9 / peak_gflops, 3))
    if memory is not None:
      result.update(xla_temp_mb=round(memory.temp_size_in_bytes / 2**20, 1),
                    xla_argument_mb=round(memory.argument_size_in_bytes / 2**20, 1))
  result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
  return result


def checkpoint_overhead(parallel, holder: dict, one_step, steps: int, step_seconds: float,
                        every: int) -> dict:
  """What one asynchronous checkpoint costs the training loop, as ``ganjax train`` saves:
  the device→host copy and Orbax's blocking part, plus the slowdown of the ``steps`` steps
  that run while it writes; as a fraction of the ``every`` steps between saves."""
  import tempfile

  from ganjax.checkpoint import Checkpointer
  with tempfile.TemporaryDirectory() as directory:
    ckpt = Checkpointer(directory)
    costs = []
    for i in range(3):
      ckpt.wait()
      start = time.perf_counter()
      ckpt.save(i + 1, parallel.get_state(holder["state"]))
      blocking = time.perf_counter() - start
      for _ in range(steps):
        one_step()
      costs.append((blocking, time.perf_counter() - start - steps * step_seconds))
    ckpt.close()
  blocking, total = (statistics.median(c) for c in zip(*costs))
  return {"checkpoint_blocking_ms": round(1e3 * blocking, 1),
          "checkpoint_overhead_ms": round(1e3 * total, 1), "checkpoint_every": every,
          "checkpoint_overhead_fraction": round(max(total, 0.0) / (every * step_seconds), 5)}


def bench_seeds(name: str, config, num_seeds: int, steps: int, repeats: int) -> dict:
  """``num_seeds`` independent runs as one vmapped step over stacked states, against the
  same runs stepped one after another (``vmap_over_sequential`` > 1: vmap wins)."""
  from ganjax import experiment
  exp = experiment.build(config, config.data.image_shape)
  parallel, stacked_parallel = DataParallel("shard_map", 1), DataParallel("shard_map", 1, num_seeds)
  single = parallel.compile(exp.train_step(config.batch_size))
  stacked_step = stacked_parallel.compile(exp.train_step(config.batch_size))
  seeds = list(range(num_seeds))
  shape = (num_seeds, config.n_critic, config.batch_size, *config.data.image_shape)
  images = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
  labels = np.zeros(shape[:3], np.int32)
  stacked_batch = stacked_parallel.put_batch({"image": images, "label": labels})
  batches = [parallel.put_batch({"image": images[k], "label": labels[k]}) for k in seeds]
  first = jax.device_get(experiment.initial_state(exp))  # steps donate: one device copy per run
  holder = {"stacked": stacked_parallel.put_state(experiment.initial_states(exp, seeds)),
            "alone": [parallel.put_state(first) for _ in seeds]}

  def vmapped():
    holder["stacked"], metrics = stacked_step(holder["stacked"], stacked_batch)
    jax.block_until_ready(metrics)

  def sequential():
    for k in seeds:
      holder["alone"][k], metrics = single(holder["alone"][k], batches[k])
    jax.block_until_ready(metrics)

  for fn in (vmapped, sequential):
    fn()
  t_vmap = median_seconds(vmapped, steps, repeats)
  t_seq = median_seconds(sequential, steps, repeats)
  images_per_step = num_seeds * config.batch_size
  return {"name": name, "num_seeds": num_seeds, "images_per_s": round(images_per_step / t_vmap, 1),
          "sequential_images_per_s": round(images_per_step / t_seq, 1),
          "vmap_over_sequential": round(t_seq / t_vmap, 3), "batch": config.batch_size}


def bench_sampling(config, steps: int, repeats: int, batch: int = 500) -> dict:
  """Eval-mode generator forwards of ``batch`` latents."""
  from ganjax import experiment
  exp = experiment.build(config, config.data.image_shape)
  state = experiment.initial_state(exp)
  z = latents.sample(jax.random.PRNGKey(0), (batch, config.latent_dim),
                     config.latent_distribution)
  sample = jax.jit(experiment.generate, static_argnums=0)
  params = state.g_params

  def once():
    sample(exp.generator, params, state.g_batch_stats, z).block_until_ready()

  once()
  seconds = median_seconds(once, steps, repeats)
  return {"name": "dcgan_sampling", "images_per_s": round(batch / seconds, 1), "batch": batch}


def bench_pipeline(config, steps: int, on_device: bool = False) -> dict:
  """``data.Batches`` → prefetch → device, as the training loop consumes it; with
  ``on_device`` the dataset is on the device and only the indices travel (``data.on_device``)."""
  try:
    source = data.open_source(config.data)
    dataset = config.data.name
  except Exception:  # no offline files and no TFDS copy: the same work on random images
    images = np.random.default_rng(0).integers(0, 256, (60000, 28, 28, 1), np.uint8)
    source, dataset = data.ArraySource(images, np.zeros(60000, np.int32)), "random"
  parallel = DataParallel("shard_map", 1)
  batches = data.Batches(source, config.batch_size, config.n_critic, 0)
  transform = parallel.put_batch
  if on_device:
    batches, transform = data.DeviceBatches([batches], parallel), lambda batch: batch
    jax.block_until_ready(batches(0))  # compiles the gather
  start = time.perf_counter()
  for _, batch in batches.prefetch(0, steps, transform=transform):
    jax.block_until_ready(batch)
  seconds = time.perf_counter() - start
  return {"name": "data_pipeline_on_device" if on_device else "data_pipeline",
          "images_per_s": round(steps * config.batch_size / seconds, 1),
          "batch": config.batch_size, "dataset": dataset}


def run(model: str = "dcgan", batch: int = 128, steps: int = 20, repeats: int = 3,
        compare: str | None = None, upsample: str = "subpixel", mode: str = "shard_map",
        devices: int = 1, num_seeds: int = 8, compute_dtype: str = "float32",
        fast_paths: str = "auto", emit=print) -> list[dict]:
  """Every measurement, each passed to ``emit`` as a JSON line as soon as it is taken, the
  models' with the CPU fast paths ``fast_paths`` (``ganjax.cpu``):

  * ``dcgan_step``: one D and one G Adam update of the 28×28 DCGAN of TensorFlow's tutorial
    (Dense 7·7·256 → 128 s1 → 64 s2 → 1 s2; D conv 64 s2 → conv 128 s2 → logit; 5×5 kernels),
    batch 128, through ``Experiment.train_step`` exactly as ``ganjax train`` runs it;
  * ``mlp_step``: the same for the MLP GAN of ``experiments/gan_mlp_mnist.py``;
  * ``mlp_seeds_vmap``: ``--num-seeds`` MLP GANs (8) as one vmapped program over stacked
    states, with the images/s of the same runs stepped one after another;
  * ``dcgan_sampling``: eval-mode generator forwards, batch 500;
  * ``data_pipeline``: ``data.Batches`` with prefetch to the device, on the offline
    Fashion-MNIST files when present (else on random images of the same shape);
    ``data_pipeline_on_device``: the same batches gathered from a copy of the dataset on the
    device (``config.data.on_device``).
  """
  results = []

  def out(result: dict) -> None:
    results.append(result)
    emit(json.dumps(result))

  peak = matmul_peak()
  out({"name": "matmul_peak", "gflop_per_s": round(peak, 1), "n": MATMUL_N,
       "images_per_s": None, "devices": [d.device_kind for d in jax.local_devices()][:1],
       "cpu_count": os.cpu_count(), "jax": jax.__version__, "compute_dtype": compute_dtype})
  models = ("dcgan", "mlp") if model == "all" else (model,)
  dcgan = model_config("dcgan", batch, upsample, compute_dtype, fast_paths)
  with cpu.fast_paths(fast_paths):
    for name in models:
      config = model_config(name, batch, upsample, compute_dtype, fast_paths)
      out(bench_step(f"{name}_step", config, steps, repeats, peak, mode, devices,
                     checkpoint_every=config.ckpt_every if name == "dcgan" else 0))
    if "mlp" in models:
      mlp = model_config("mlp", batch, compute_dtype=compute_dtype, fast_paths=fast_paths)
      out(bench_seeds("mlp_seeds_vmap", mlp, num_seeds, steps, repeats))
    if "dcgan" in models:
      out(bench_sampling(dcgan, max(2, steps // 4), repeats))
  out(bench_pipeline(dcgan, 4 * steps))
  out(bench_pipeline(dcgan, 4 * steps, on_device=True))
  if compare == "torch" and "dcgan" in models:
    from ganjax import bench_torch
    torch_result = bench_torch.bench_dcgan_step(batch, steps, repeats, jax.default_backend())
    out(torch_result)
    ours = next(r for r in results if r["name"] == "dcgan_step")
    out({"name": "dcgan_step_vs_torch", "images_per_s": None,
         "ratio": round(ours["images_per_s"] / torch_result["images_per_s"], 3)})
  sys.stdout.flush()
  return results
