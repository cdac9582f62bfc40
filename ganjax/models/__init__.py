"""Model registry: ``build(config.model, image_shape, axis_name) -> (generator, discriminator)``.

``config.model.num_classes`` > 0 wraps both nets to take class labels
(``ganjax.models.conditional``), conditioned as ``config.model.conditioning`` says;
``config.model.semi_supervised_classes`` > 0 makes D a K-class semi-supervised classifier.
"""

import ml_collections

from ganjax import config as config_lib
from ganjax.errors import UserError
from ganjax.models.conditional import (CONDITIONINGS, ConditionalDiscriminator,
                                       ConditionalGenerator, SemiSupervisedDiscriminator,
                                       is_conditional)
from ganjax.models.dcgan import (DCGANDiscriminator, DCGANGenerator,
                                 radford_discriminator_kwargs, radford_generator_kwargs)
from ganjax.models.layers import UPSAMPLE_MODES
from ganjax.models.mlp import MLPDiscriminator, MLPGenerator
from ganjax.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganjax.models.style import StyleGenerator
from ganjax.models.convolution import CONV_ALGORITHMS

MODEL_NAMES = ("mlp", "dcgan", "resnet", "style")


def _kwargs(section) -> dict:
  """Config section → constructor kwargs; lists (from JSON) become hashable tuples."""
  return {k: tuple(v) if isinstance(v, list) else v for k, v in dict(section).items()}


def build(model: ml_collections.ConfigDict, image_shape, axis_name: str | None = "batch"):
  """Instantiates the generator and discriminator that ``model`` (config.model) names."""
  model = config_lib.filled(model, "model")
  try:
    generator, discriminator = _build(model, image_shape, axis_name)
  except TypeError as e:  # a keyword the module does not take
    raise UserError(f"config.model ({model.name}): {e}; check the generator/discriminator "
                    "keys against ganjax/models") from None
  num_classes = model.num_classes
  if num_classes:
    conditioning = model.conditioning
    if conditioning not in CONDITIONINGS:
      raise UserError(f"unknown config.model.conditioning {conditioning!r}; choose from "
                      f"{', '.join(CONDITIONINGS)}")
    if not is_conditional(generator):  # BigGAN's generator conditions its own batch norms
      generator = ConditionalGenerator(generator, num_classes)
    discriminator = ConditionalDiscriminator(discriminator, num_classes, conditioning)
  semi_supervised = model.semi_supervised_classes
  if semi_supervised:
    if num_classes:
      raise UserError("config.model.semi_supervised_classes and num_classes exclude each "
                      "other: a semi-supervised GAN's generator is unconditional")
    discriminator = SemiSupervisedDiscriminator(discriminator, semi_supervised)
  return generator, discriminator


COMPUTE_DTYPES = ("float32", "bfloat16")


def _build(model, image_shape, axis_name):
  image_shape = tuple(image_shape)
  g_kw = _kwargs(model.get("generator", {}))
  d_kw = _kwargs(model.get("discriminator", {}))
  dtype = model.compute_dtype
  if dtype not in COMPUTE_DTYPES:
    raise UserError(f"unknown config.model.compute_dtype {dtype!r}; choose from "
                    f"{', '.join(COMPUTE_DTYPES)}")
  if dtype != "float32":
    if model.name not in ("mlp", "dcgan"):
      raise UserError(f"config.model.compute_dtype={dtype} is built for the mlp and dcgan "
                      f"models, not {model.name!r}")
    g_kw, d_kw = {**g_kw, "dtype": dtype}, {**d_kw, "dtype": dtype}
  for net, kw in (("generator", g_kw), ("discriminator", d_kw)):
    if kw.get("conv_algorithm", "auto") not in CONV_ALGORITHMS:
      raise UserError(f"unknown config.model.{net}.conv_algorithm {kw['conv_algorithm']!r}; "
                      f"choose from {', '.join(CONV_ALGORITHMS)}")
  if model.name == "mlp":
    return (MLPGenerator(image_shape=image_shape, axis_name=axis_name, **g_kw),
            MLPDiscriminator(**d_kw))
  if model.name == "dcgan":
    if g_kw.get("upsample", "subpixel") not in UPSAMPLE_MODES:
      raise UserError(f"unknown config.model.generator.upsample {g_kw['upsample']!r}; "
                      f"choose from {', '.join(UPSAMPLE_MODES)}")
    size = image_shape[0]
    if size != 28 and "start_size" not in g_kw:
      if size not in (32, 64):
        raise UserError(f"no DCGAN preset for {size}×{size} images; set "
                        "config.model.generator.start_size/features/strides")
      g_kw = {**radford_generator_kwargs(size), **g_kw}
      d_kw = {**radford_discriminator_kwargs(size), **d_kw}
    return (DCGANGenerator(image_shape=image_shape, axis_name=axis_name, **g_kw),
            DCGANDiscriminator(axis_name=axis_name, **d_kw))
  if model.name == "style":  # a style-based G against the DCGAN discriminator
    return (StyleGenerator(image_shape=image_shape, **g_kw),
            DCGANDiscriminator(axis_name=axis_name, **d_kw))
  if model.name == "resnet":
    g_kw.setdefault("num_classes", model.num_classes)
    return (ResNetGenerator(image_shape=image_shape, axis_name=axis_name, **g_kw),
            ResNetDiscriminator(**d_kw))
  raise UserError(f"unknown config.model.name {model.name!r}; choose from {', '.join(MODEL_NAMES)}")
