"""Winograd's minimal filtering for convolutions (Lavin & Gray 2016).

A correlation of m outputs with an r-tap filter costs m·r multiplications directly and
α = m + r − 1 with F(m, r): y = Aᵀ[(G g) ⊙ (Bᵀ d)]; nesting gives the 2-D
F(m×m, r×r), Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, on α×α tiles. The matrices come from Toom–Cook
interpolation (``winograd_matrices``). Over C_in → C_out channels the product becomes α²
matrix products (tiles × C_in) @ (C_in × C_out): a 5×5 kernel on 4×4 output tiles does 64
multiplications per tile and channel pair where the direct method does 400. The transforms
are constant matrices, so autodiff gives the gradients in the same form. Rounding grows
with α: relative errors of ~1e-5 in float32 for F(4×4, 5×5), ~1e-6 for F(4×4, 3×3).
Strided convolutions go through space-to-depth (``strided_winograd_conv2d``);
``ganjax.cpu.convolution`` decides where the form is used (docs/performance.md: timings).
"""

import functools
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np

# Toom–Cook points per kernel size for TILE×TILE output tiles: 0, ±1, ±2 (Lavin & Gray's
# F(4×4, 3×3)) and ±1/2, small numbers that keep float32 rounding low.
TILE = 4
POINTS = {3: (0, 1, -1, 2, -2), 5: (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))}


@functools.cache
def winograd_matrices(m: int, r: int, points: tuple) -> tuple[np.ndarray, ...]:
  """(Aᵀ, G, Bᵀ) of F(m, r) for the ``m + r − 2`` finite ``points`` (and ∞), float64.

  Toom–Cook interpolation at the points p_i: Aᵀ[k, i] = p_iᵏ, G[i, j] = p_iʲ / Π_{l≠i}(p_i − p_l),
  the ∞ column/row picking the leading coefficient; Bᵀ is the unique solution of
  y = Aᵀ[(G g) ⊙ (Bᵀ d)] for every g and d.
  """
  alpha = m + r - 1
  if len(points) != alpha - 1 or len(set(points)) != len(points):
    raise ValueError(f"F({m}, {r}) needs {alpha - 1} distinct finite points, got {points}")
  p = [Fraction(x) for x in points]
  a_t = np.zeros((m, alpha))
  g = np.zeros((alpha, r))
  for i, pi in enumerate(p):
    denominator = np.prod([pi - pl for l, pl in enumerate(p) if l != i])
    a_t[:, i] = [float(pi ** k) for k in range(m)]
    g[i] = [float(pi ** j / denominator) for j in range(r)]
  a_t[m - 1, alpha - 1] = 1.0
  g[alpha - 1, r - 1] = 1.0
  # Σ_i Aᵀ[k, i] G[i, j] Bᵀ[i, l] = [l − j = k] for every (k, j): linear in Bᵀ.
  lhs = np.einsum("ki,ij->kji", a_t, g).reshape(m * r, alpha)
  rhs = np.array([[float(l - j == k) for l in range(alpha)] for k in range(m) for j in range(r)])
  b_t, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
  if not np.allclose(lhs @ b_t, rhs, atol=1e-9):
    raise ValueError(f"points {points} do not give an exact F({m}, {r})")
  return a_t, g, b_t


def _windows(x: jax.Array, axis: int, count: int, alpha: int) -> jax.Array:
  """``count`` windows of ``alpha`` entries every ``TILE`` along ``axis``, which holds
  (count + 1)·TILE entries: shape (…, count, alpha, …). Slabs, not one slice per tile
  element, so that the copy and its transpose (the gradient) run at memory speed."""
  blocks = x.reshape(x.shape[:axis] + (count + 1, TILE) + x.shape[axis + 1:])
  head = jax.lax.slice_in_dim(blocks, 0, count, axis=axis)
  tail = jax.lax.slice_in_dim(jax.lax.slice_in_dim(blocks, 1, count + 1, axis=axis),
                              0, alpha - TILE, axis=axis + 1)
  return jnp.concatenate([head, tail], axis=axis + 1)


def winograd_conv2d(x: jax.Array, kernel: jax.Array, padding="SAME") -> jax.Array:
  """Stride-1 convolution of NHWC ``x`` with an HWIO square ``kernel``, F(4×4, r×r).

  ``padding`` is "SAME" or ((lo, hi), (lo, hi)). Equals ``lax.conv_general_dilated(x,
  kernel, (1, 1), padding, ...)`` up to rounding.
  """
  n, h, w, c_in = x.shape
  r = kernel.shape[0]
  if kernel.shape[1] != r or r not in POINTS:
    raise ValueError(f"Winograd convolution has matrices for square kernels of size "
                     f"{sorted(POINTS)}, got {kernel.shape[:2]}")
  if padding == "SAME":
    padding = jax.lax.padtype_to_pads((h, w), (r, r), (1, 1), "SAME")
  (lo_h, hi_h), (lo_w, hi_w) = padding
  tile = TILE
  a_t, g, b_t = winograd_matrices(tile, r, POINTS[r])
  alpha = tile + r - 1
  out_h, out_w = h + lo_h + hi_h - r + 1, w + lo_w + hi_w - r + 1
  rows, cols = -(-out_h // tile), -(-out_w // tile)
  # Tiles start every `tile` pixels and span α = tile + r − 1 ≤ 2·tile: pad to whole
  # tiles plus one, and take each tile as its block and the head of the next block.
  xp = jnp.pad(x, ((0, 0), (lo_h, (rows + 1) * tile - h - lo_h),
                   (lo_w, (cols + 1) * tile - w - lo_w), (0, 0)))
  d = _windows(_windows(xp, 1, rows, alpha), 3, cols, alpha)  # N, rows, α, cols, α, C_in
  d = d.transpose(2, 4, 0, 1, 3, 5)
  dtype = x.dtype
  v = (jnp.asarray(np.kron(b_t, b_t), dtype) @ d.reshape(alpha * alpha, -1))
  u = jnp.asarray(np.kron(g, g), dtype) @ kernel.reshape(r * r, -1)
  prod = jnp.matmul(v.reshape(alpha * alpha, -1, c_in), u.reshape(alpha * alpha, c_in, -1))
  c_out = prod.shape[-1]
  y = jnp.asarray(np.kron(a_t, a_t), dtype) @ prod.reshape(alpha * alpha, -1)
  y = y.reshape(tile, tile, n, rows, cols, c_out).transpose(2, 3, 0, 4, 1, 5)
  return y.reshape(n, rows * tile, cols * tile, c_out)[:, :out_h, :out_w]


def strided_taps(kernel_size: int, stride: int) -> int:
  """Taps per axis of the stride-1 kernel that ``strided_winograd_conv2d`` convolves with."""
  return -(-kernel_size // stride)


def strided_winograd_conv2d(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
  """Stride-``stride`` 'SAME' convolution as a stride-1 Winograd convolution.

  With x' the space-to-depth input (each s×s block of pixels one pixel of s²·C_in
  channels) and k' the kernel cut into its s² phases, t = ⌈k/s⌉ taps each, stacked as
  channels: y[o] = Σ_i k[i] x[s·o + i − lo] = Σ_a k'[a] x'[o + a] (i = s·a + phase), a
  'VALID' t×t convolution. The discriminator's 5×5 stride-2 layers become 3×3 ones over 4×
  the channels (25 of their 36 taps non-zero), which Winograd computes with ~2× fewer
  multiplications than the direct strided convolution.
  """
  n, h, w, c_in = x.shape
  k = kernel.shape[0]
  s, t = stride, strided_taps(k, stride)
  (lo_h, _), (lo_w, _) = jax.lax.padtype_to_pads((h, w), (k, k), (s, s), "SAME")
  rows, cols = -(-h // s) + t - 1, -(-w // s) + t - 1  # blocks the VALID conv reads
  xp = jnp.pad(x, ((0, 0), (lo_h, rows * s - h - lo_h), (lo_w, cols * s - w - lo_w), (0, 0)))
  xs = xp.reshape(n, rows, s, cols, s, c_in).transpose(0, 1, 3, 2, 4, 5)
  ks = jnp.pad(kernel, ((0, t * s - k), (0, t * s - k), (0, 0), (0, 0)))
  ks = ks.reshape(t, s, t, s, c_in, -1).transpose(0, 2, 1, 3, 4, 5)
  return winograd_conv2d(xs.reshape(n, rows, cols, s * s * c_in),
                         ks.reshape(t, t, s * s * c_in, -1), padding=((0, 0), (0, 0)))
