"""Convolution as one matrix product over extracted patches ("im2col", Chellapilla et al.
2006).

For an NHWC input and an HWIO kernel of size kh×kw, every output pixel's receptive field
(kh·kw·C_in values) becomes one row of a patch matrix P of shape (N·H_out·W_out, kh·kw·C_in),
and the convolution is P @ K with K the kernel reshaped to (kh·kw·C_in, C_out). Autodiff
gives the gradients as two more matrix products (Pᵀ @ dY for the kernel; dY @ Kᵀ folded
back onto the input for the image).

The copy costs kh·kw times the input, so it pays where the input has few channels, as in
a discriminator's first layer reading an image: there XLA:CPU's direct convolution does a
poorly vectorised 1- or 3-deep inner loop, while P @ K is one dense matmul
(``benchmarks/conv_layers.py`` times both).
"""

import jax
import jax.numpy as jnp


def im2col_conv2d(x: jax.Array, kernel: jax.Array, strides=(1, 1), padding="SAME") -> jax.Array:
  """Convolution of NHWC ``x`` with an HWIO ``kernel`` as a patch matrix product.

  ``strides`` and ``padding`` ("SAME", "VALID" or ((lo, hi), (lo, hi))) as in
  ``lax.conv_general_dilated``, whose result this equals up to rounding.
  """
  n, h, w, c_in = x.shape
  kh, kw, _, c_out = kernel.shape
  sh, sw = strides
  if isinstance(padding, str):
    padding = jax.lax.padtype_to_pads((h, w), (kh, kw), strides, padding)
  (lo_h, hi_h), (lo_w, hi_w) = padding
  out_h = (h + lo_h + hi_h - kh) // sh + 1
  out_w = (w + lo_w + hi_w - kw) // sw + 1
  xp = jax.lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (lo_h, hi_h, 0), (lo_w, hi_w, 0),
                                               (0, 0, 0)))
  taps = [jax.lax.slice(xp, (0, i, j, 0),
                        (n, i + (out_h - 1) * sh + 1, j + (out_w - 1) * sw + 1, c_in),
                        (1, sh, sw, 1))
          for i in range(kh) for j in range(kw)]
  patches = jnp.stack(taps, axis=3).reshape(n * out_h * out_w, kh * kw * c_in)
  return (patches @ kernel.reshape(kh * kw * c_in, c_out)).reshape(n, out_h, out_w, c_out)
