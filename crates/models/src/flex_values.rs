//! The values of the `flex` backend's tensors as plain slices, for the operations this
//! crate computes itself ([`crate::conv_block`], the transformer's training operations).

use std::borrow::Cow;

use burn::tensor::TensorData;
use burn_flex::FlexTensor;

/// A tensor's `f32` values in row-major order, borrowed where it is contiguous.
///
/// # Panics
/// If the tensor does not hold `f32` (callers check the dtype before taking this path).
pub(crate) fn floats(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(values) => values.into(),
        None => t.to_contiguous().into_data().try_to_vec::<f32>().expect("an f32 tensor").into(),
    }
}

/// `values` as a tensor of `shape`.
pub(crate) fn tensor(values: Vec<f32>, shape: impl Into<burn::tensor::Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

/// `values` as a tensor of `like`'s shape.
pub(crate) fn tensor_like(values: Vec<f32>, like: &FlexTensor) -> FlexTensor {
    tensor(values, like.layout().shape().clone())
}
