"""Model registry: ``build(config.model, image_shape, axis_name) -> (generator, discriminator)``.

``config.model.name`` picks a builder registered with ``@register(name)``; it receives the
``config.model`` group and the nets' keys (``config.model.generator``/``discriminator``) as
keyword arguments, and returns two Flax modules. A model of your own registers the same way
from a module your experiment config imports (README: "Add a model").
``config.model.num_classes`` > 0 wraps both nets to take class labels
(``ganjax.models.conditional``), conditioned as ``config.model.conditioning`` says;
``config.model.semi_supervised_classes`` > 0 makes D a K-class semi-supervised classifier.
"""

from typing import Callable

import ml_collections

from ganjax import schema
from ganjax.errors import UserError, check_choice
from ganjax.models.conditional import (CONDITIONINGS, ConditionalDiscriminator,
                                       ConditionalGenerator, SemiSupervisedDiscriminator,
                                       is_conditional)
from ganjax.models.dcgan import (DCGANDiscriminator, DCGANGenerator,
                                 radford_discriminator_kwargs, radford_generator_kwargs)
from ganjax.models.layers import UPSAMPLE_MODES
from ganjax.models.mlp import MLPDiscriminator, MLPGenerator
from ganjax.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganjax.models.style import StyleGenerator

COMPUTE_DTYPES = ("float32", "bfloat16")
HALF_PRECISION_MODELS = ("mlp", "dcgan")  # the nets that take a ``dtype``
# name → builder(model, image_shape, axis_name, g_kw, d_kw) -> (generator, discriminator);
# g_kw/d_kw are config.model.generator/discriminator as keyword arguments.
MODELS: dict[str, Callable] = {}


def register(name: str):
  """Decorator adding a model builder under ``name`` (``config.model.name``)."""
  def wrap(builder: Callable) -> Callable:
    MODELS[name] = builder
    return builder
  return wrap


def _kwargs(section) -> dict:
  """Config section → constructor kwargs; lists (from JSON) become hashable tuples."""
  return {k: tuple(v) if isinstance(v, list) else v for k, v in dict(section).items()}


def check(model: ml_collections.ConfigDict) -> None:
  """Fails in one line on a name ``config.model`` may not take: the model, its conditioning,
  compute dtype or upsampling (run by ``config.validate`` too)."""
  model = schema.filled(model, "model")
  check_choice("model.name", model.name, list(MODELS))
  check_choice("model.conditioning", model.conditioning, CONDITIONINGS)
  check_choice("model.compute_dtype", model.compute_dtype, COMPUTE_DTYPES)
  if model.compute_dtype != "float32" and model.name not in HALF_PRECISION_MODELS:
    raise UserError(f"config.model.compute_dtype={model.compute_dtype} is built for the "
                    f"{' and '.join(HALF_PRECISION_MODELS)} models, not {model.name!r}")
  generator = model.get("generator", {})
  if "upsample" in generator:
    check_choice("model.generator.upsample", generator["upsample"], UPSAMPLE_MODES)


def build(model: ml_collections.ConfigDict, image_shape, axis_name: str | None = "batch"):
  """Instantiates the generator and discriminator that ``model`` (config.model) names."""
  check(model)
  model = schema.filled(model, "model")
  try:
    generator, discriminator = _build(model, image_shape, axis_name)
  except TypeError as e:  # a keyword the module does not take
    raise UserError(f"config.model ({model.name}): {e}; check the generator/discriminator "
                    "keys against ganjax/models") from None
  num_classes = model.num_classes
  if num_classes:
    if not is_conditional(generator):  # BigGAN's generator conditions its own batch norms
      generator = ConditionalGenerator(generator, num_classes)
    discriminator = ConditionalDiscriminator(discriminator, num_classes, model.conditioning)
  semi_supervised = model.semi_supervised_classes
  if semi_supervised:
    if num_classes:
      raise UserError("config.model.semi_supervised_classes and num_classes exclude each "
                      "other: a semi-supervised GAN's generator is unconditional")
    discriminator = SemiSupervisedDiscriminator(discriminator, semi_supervised)
  return generator, discriminator


def _build(model, image_shape, axis_name):
  g_kw = _kwargs(model.get("generator", {}))
  d_kw = _kwargs(model.get("discriminator", {}))
  if model.compute_dtype != "float32":
    g_kw, d_kw = {**g_kw, "dtype": model.compute_dtype}, {**d_kw, "dtype": model.compute_dtype}
  return MODELS[model.name](model, tuple(image_shape), axis_name, g_kw, d_kw)


@register("mlp")
def _mlp(model, image_shape, axis_name, g_kw, d_kw):
  return (MLPGenerator(image_shape=image_shape, axis_name=axis_name, **g_kw),
          MLPDiscriminator(**d_kw))


@register("dcgan")
def _dcgan(model, image_shape, axis_name, g_kw, d_kw):
  size = image_shape[0]
  if size != 28 and "start_size" not in g_kw:
    if size not in (32, 64):
      raise UserError(f"no DCGAN preset for {size}×{size} images; set "
                      "config.model.generator.start_size/features/strides")
    g_kw = {**radford_generator_kwargs(size), **g_kw}
    d_kw = {**radford_discriminator_kwargs(size), **d_kw}
  return (DCGANGenerator(image_shape=image_shape, axis_name=axis_name, **g_kw),
          DCGANDiscriminator(axis_name=axis_name, **d_kw))


@register("resnet")
def _resnet(model, image_shape, axis_name, g_kw, d_kw):
  g_kw.setdefault("num_classes", model.num_classes)
  return (ResNetGenerator(image_shape=image_shape, axis_name=axis_name, **g_kw),
          ResNetDiscriminator(**d_kw))


@register("style")
def _style(model, image_shape, axis_name, g_kw, d_kw):
  """A style-based G against the DCGAN discriminator."""
  return (StyleGenerator(image_shape=image_shape, **g_kw),
          DCGANDiscriminator(axis_name=axis_name, **d_kw))
