"""Which terms config.loss turns on, in which order, and with which weights."""

from ganjax import config as config_lib, objectives


def _names(loss, classifier=""):
  d, g = objectives.terms_from_config(loss, classifier, lambda: (lambda x: x))
  return [(t.name, t.weight) for t in d], [(t.name, t.weight) for t in g]


def test_the_default_objective_is_the_adversarial_pair_alone():
  assert _names(config_lib.base_config().loss) == ([("d_adversarial", 1.0)],
                                                   [("g_adversarial", 1.0)])


def test_terms_follow_registration_order_with_their_config_weights():
  loss = config_lib.base_config().loss
  loss.update(gradient_penalty=10.0, r1=4.0, weight_clip=0.01, g_orthogonal_reg=1e-4,
              feature_matching=2.0, d_manifold=3.0)
  d, g = _names(loss)
  assert d == [("d_adversarial", 1.0), ("d_manifold", 3.0), ("d_gradient_penalty", 10.0),
               ("d_r1_penalty", 2.0), ("d_weight_clip", 0.01)]  # R1 weighs γ/2
  assert g == [("g_adversarial", 1.0), ("g_feature_matching", 2.0), ("g_orthogonal_reg", 1e-4)]


def test_class_terms_need_their_kind_of_discriminator():
  loss = config_lib.base_config().loss
  loss.update(d_entropy=0.5, d_consistency=0.3, d_adversarial=0.0)
  # The semi-supervised class loss is on even at d_adversarial 0 (the supervised-only baseline).
  assert _names(loss, "semi_supervised")[0] == [
      ("d_adversarial", 0.0), ("d_class_loss", 1.0), ("d_entropy", 0.5), ("d_consistency", 0.3)]
  assert _names(loss, "acgan") == ([("d_adversarial", 0.0), ("d_class_loss", 1.0)],
                                   [("g_adversarial", 1.0), ("g_class_loss", 1.0)])
  assert _names(loss) == ([("d_adversarial", 0.0)], [("g_adversarial", 1.0)])
  loss.class_weight = 0.0  # AC-GAN's class terms switch off; the semi-supervised one stays
  assert _names(loss, "acgan")[0] == [("d_adversarial", 0.0)]
  assert ("d_class_loss", 0.0) in _names(loss, "semi_supervised")[0]
