"""``ganjax bench`` prints its JSON lines, with FLOPs that match a hand count."""

import json

from ganjax import cli


def _mlp_forward_flops(widths) -> int:
  """Multiply-adds of a dense stack, ×2: the FLOPs of one example's forward pass."""
  return 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def test_bench_prints_json_lines_with_flops_of_the_mlp_step(capsys):
  capsys.readouterr()
  assert cli.main(["bench", "--model", "mlp", "--batch", "8", "--steps", "1",
                   "--repeats", "1", "--num-seeds", "2"]) == 0
  lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
  assert [r["name"] for r in lines] == ["matmul_peak", "mlp_step", "mlp_seeds_vmap",
                                        "data_pipeline", "data_pipeline_on_device"]
  assert lines[0]["gflop_per_s"] > 0
  step = lines[1]
  assert step["images_per_s"] > 0 and step["batch"] == 8 and step["peak_rss_mb"] > 0
  assert step["minor_page_faults_per_step"] >= 0
  seeds = lines[2]
  assert seeds["num_seeds"] == 2 and seeds["images_per_s"] > 0
  assert seeds["vmap_over_sequential"] > 0
  assert lines[3]["images_per_s"] > 0 and lines[4]["images_per_s"] > 0
  # One step: G forward on 8 latents; D forward and backward on 8 real + 8 fake; D forward
  # and backward on the 8 fakes for G's gradient, and G's backward. A backward pass costs
  # about twice its forward, so the matmuls alone are ≈ 3 × (G(8) + D(16) + D(8)) forwards.
  g = _mlp_forward_flops([100, 128, 128, 100, 784])
  d = _mlp_forward_flops([784, 128, 128, 1])
  matmuls = 3 * (8 * g + 16 * d + 8 * d)
  assert 0.95 * matmuls <= step["gflop_per_step"] * 1e9 <= 1.2 * matmuls  # measured: 1.02


def test_step_bench_reports_the_cost_of_an_async_checkpoint():
  from ganjax import bench
  result = bench.bench_step("mlp_step", bench.model_config("mlp", 8), steps=2, repeats=1,
                            peak_gflops=100.0, checkpoint_every=500)
  assert result["checkpoint_every"] == 500 and result["checkpoint_blocking_ms"] > 0
  assert result["checkpoint_overhead_fraction"] >= 0
