"""Training the recognition model: ``smartcart model train`` (needs the ``train`` extra).

Conversion of the int8 ImageNet MobileNetV2 into PyTorch (:mod:`.mobilenet`, :mod:`.convert`),
cart-camera augmentation (:mod:`.augment`), cached frozen-trunk features (:mod:`.features`),
fine-tuning (:mod:`.train`), temperature scaling (:mod:`.calibrate`), few-shot / open-set
protocol (:mod:`.protocol`), ONNX export and int8 quantisation (:mod:`.export`), the manifest
(:mod:`.manifest_v1`), plots (:mod:`.plots`) and the whole recipe (:mod:`.pipeline`,
:mod:`.cli`). See ``docs/recognition.md``, "Training v1".

Only this package imports PyTorch, and this ``__init__`` imports nothing: the cart runs the
exported ONNX model with onnxruntime and never needs torch installed.
"""
