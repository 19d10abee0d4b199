//! Products whose right operand is a graph input, read where it lies: the decoder's
//! attention over the encoder's output.
//!
//! Every decoder step multiplies its queries by each layer's cross-attention keys
//! ([heads, head_dim, frames]) and its attention weights by the values ([heads, frames,
//! head_dim]). Those are inputs of the decoder graph, so tract cannot pack them once: it
//! copied all of them into its kernels' panel layout on every step — for tiny.en eight
//! copies of 2.3 MB per token, more time than the products themselves. Here such a `MatMul`
//! becomes a `ReelsmithInputMatMul` ([`rewrite_input_matmuls`]) that reads the input in
//! place: each output row is a sum of the right operand's rows scaled by the left operand's
//! values (`y[i, :] += a[i, t] · b[t, :]`), which streams `b` once, row by row, in the order
//! it is stored.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_hir::internal::*;

/// The node type [`rewrite_input_matmuls`] writes.
pub const OP_TYPE: &str = "ReelsmithInputMatMul";

/// Registers [`OP_TYPE`] with tract's ONNX front end.
pub fn register(onnx: &mut tract_onnx::Onnx) {
    onnx.op_register.insert(OP_TYPE, parse);
}

/// Rewrites every `MatMul` whose right operand is a rank-3 graph input (not an initializer)
/// into [`OP_TYPE`]. Returns how many were rewritten.
pub fn rewrite_input_matmuls(proto: &mut pb::ModelProto) -> usize {
    let Some(graph) = proto.graph.as_mut() else {
        return 0;
    };
    let rank_3_inputs: Vec<String> = graph
        .input
        .iter()
        .filter(|i| !graph.initializer.iter().any(|t| t.name == i.name))
        .filter(|i| {
            let dims = i
                .r#type
                .as_ref()
                .and_then(|t| t.value.as_ref())
                .and_then(|pb::type_proto::Value::TensorType(t)| t.shape.as_ref())
                .map(|s| s.dim.len());
            dims == Some(3)
        })
        .map(|i| i.name.clone())
        .collect();
    let mut count = 0;
    for node in &mut graph.node {
        if node.op_type == "MatMul"
            && node.domain.is_empty()
            && node.input.len() == 2
            && rank_3_inputs.contains(&node.input[1])
        {
            node.op_type = OP_TYPE.into();
            count += 1;
        }
    }
    count
}

fn parse(
    _ctx: &ParsingContext,
    _node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(InputMatMulExpansion), vec![]))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct InputMatMulExpansion;

impl Expansion for InputMatMulExpansion {
    fn name(&self) -> StaticName {
        OP_TYPE.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> TractResult<()> {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        for t in [&inputs[0], &inputs[1], &outputs[0]] {
            s.equals(&t.datum_type, f32::datum_type())?;
            s.equals(&t.rank, 3)?;
        }
        s.equals(&inputs[0].shape[0], &inputs[1].shape[0])?;
        s.equals(&inputs[0].shape[0], &outputs[0].shape[0])?;
        s.equals(&inputs[0].shape[2], &inputs[1].shape[1])?;
        s.equals(&outputs[0].shape[1], &inputs[0].shape[1])?;
        s.equals(&outputs[0].shape[2], &inputs[1].shape[2])?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        target.wire_node(prefix, InputMatMul, inputs)
    }
}

/// `y[h] = a[h] · b[h]` for [heads, m, k] × [heads, k, n], `b` read in place.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct InputMatMul;

impl Op for InputMatMul {
    fn name(&self) -> StaticName {
        "InputMatMul".into()
    }

    op_as_typed_op!();
}

impl EvalOp for InputMatMul {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b) = args_2!(inputs);
        let (sa, sb) = (a.shape(), b.shape());
        ensure!(
            sa.len() == 3 && sb.len() == 3 && sa[0] == sb[0] && sa[2] == sb[1],
            "a product of {sa:?} and {sb:?}"
        );
        let (heads, m, k, n) = (sa[0], sa[1], sa[2], sb[2]);
        let mut out = Tensor::zero::<f32>(&[heads, m, n])?;
        let a_plain = a.try_as_plain_ram()?;
        let b_plain = b.try_as_plain_ram()?;
        batched_matmul(
            a_plain.as_slice::<f32>()?,
            b_plain.as_slice::<f32>()?,
            (heads, m, k, n),
            out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        );
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for InputMatMul {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (a, b) = (&inputs[0].shape, &inputs[1].shape);
        ensure!(a.rank() == 3 && b.rank() == 3, "products of rank-3 tensors");
        Ok(tvec!(f32::fact([a[0].clone(), a[1].clone(), b[2].clone()])))
    }

    as_op!();
}

/// `out[h] = a[h] · b[h]`, `a` [heads, m, k], `b` [heads, k, n], `out` [heads, m, n]
/// (overwritten). For each row `t` of `b[h]`, in storage order, every output row adds `b`'s
/// row scaled by its own `a` value: `b` is read once whatever `m` is.
pub fn batched_matmul(
    a: &[f32],
    b: &[f32],
    (heads, m, k, n): (usize, usize, usize, usize),
    out: &mut [f32],
) {
    assert_eq!(a.len(), heads * m * k);
    assert_eq!(b.len(), heads * k * n);
    assert_eq!(out.len(), heads * m * n);
    out.fill(0.0);
    if n == 0 || k == 0 || m == 0 {
        return;
    }
    for h in 0..heads {
        let a = &a[h * m * k..][..m * k];
        let b = &b[h * k * n..][..k * n];
        let out = &mut out[h * m * n..][..m * n];
        // Four rows of b at a time: each output value is loaded and stored once per four.
        let main = k - k % 4;
        for t in (0..main).step_by(4) {
            let rows: [&[f32]; 4] = std::array::from_fn(|j| &b[(t + j) * n..][..n]);
            for (i, y) in out.chunks_exact_mut(n).enumerate() {
                let s: [f32; 4] = std::array::from_fn(|j| a[i * k + t + j]);
                for (c, y) in y.iter_mut().enumerate() {
                    *y += s[0] * rows[0][c]
                        + s[1] * rows[1][c]
                        + s[2] * rows[2][c]
                        + s[3] * rows[3][c];
                }
            }
        }
        for t in main..k {
            let row = &b[t * n..][..n];
            for (i, y) in out.chunks_exact_mut(n).enumerate() {
                let s = a[i * k + t];
                for (y, v) in y.iter_mut().zip(row) {
                    *y += s * v;
                }
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn reference(a: &[f32], b: &[f32], (heads, m, k, n): (usize, usize, usize, usize)) -> Vec<f64> {
        let mut out = vec![0f64; heads * m * n];
        for h in 0..heads {
            for i in 0..m {
                for c in 0..n {
                    out[(h * m + i) * n + c] = (0..k)
                        .map(|t| {
                            f64::from(a[(h * m + i) * k + t]) * f64::from(b[(h * k + t) * n + c])
                        })
                        .sum();
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn batched_products_equal_the_reference(
            (dims, a, b) in (1usize..4, 1usize..6, 0usize..11, 1usize..20).prop_flat_map(|d| (
                Just(d),
                prop::collection::vec(-2f32..2.0, d.0 * d.1 * d.2),
                prop::collection::vec(-2f32..2.0, d.0 * d.2 * d.3),
            ))
        ) {
            let (heads, m, _, n) = dims;
            let mut out = vec![1f32; heads * m * n];
            batched_matmul(&a, &b, dims, &mut out);
            for (got, want) in out.iter().zip(reference(&a, &b, dims)) {
                prop_assert!((f64::from(*got) - want).abs() < 1e-4, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn only_products_by_a_rank_3_graph_input_are_rewritten() {
        let input = |name: &str, rank: usize| pb::ValueInfoProto {
            name: name.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: 1,
                    shape: Some(pb::TensorShapeProto {
                        dim: vec![Default::default(); rank],
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        let matmul = |a: &str, b: &str| pb::NodeProto {
            op_type: "MatMul".into(),
            input: vec![a.into(), b.into()],
            output: vec![format!("{a}x{b}")],
            ..Default::default()
        };
        let mut proto = pb::ModelProto {
            graph: Some(pb::GraphProto {
                input: vec![input("q", 3), input("cross", 3), input("flat", 2)],
                node: vec![
                    matmul("q", "cross"),
                    matmul("cross", "q"),
                    matmul("q", "flat"),
                    matmul("q", "w"),
                ],
                initializer: vec![pb::TensorProto {
                    name: "w".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(rewrite_input_matmuls(&mut proto), 2);
        let ops: Vec<&str> = proto
            .graph
            .as_ref()
            .unwrap()
            .node
            .iter()
            .map(|n| n.op_type.as_str())
            .collect();
        assert_eq!(ops, [OP_TYPE, OP_TYPE, "MatMul", "MatMul"]);
    }
}
