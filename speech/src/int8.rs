//! Matrix products whose weights stay 8-bit in memory.
//!
//! The model files store every large weight as per-channel symmetric int8 behind an ONNX
//! `DequantizeLinear` (see `tools/model/README.md`). Run as written, tract turns each of them
//! into an f32 constant when it loads the graph (four times the bytes) or, over its folding
//! budget, dequantizes the whole matrix again on every call. Here, before tract sees the graph,
//! [`fold_int8_matmuls`] rewrites every `MatMul` whose weight is such a `DequantizeLinear` of
//! initializers (optionally through a `[1, 0]` `Transpose`, as the output projection reads the
//! token-embedding table) into one `ReelsmithInt8MatMul` node; [`onnx`] parses that node into
//! [`Int8MatMul`], which holds the int8 initializer itself (the same tensor the token lookup
//! gathers from, so the table is kept once) and multiplies with integer products
//! ([`crate::qgemm`]): each row of the input is quantized to 14 bits, summed against the int8
//! weights in `i32`, and each result scaled by its row's and its channel's scale.
//!
//! The products read each channel's weights as one row of K int8 values. A matrix stored the
//! other way ([K, N], read by nothing else) is transposed in the file's bytes during the
//! rewrite, in place, so no second copy is ever held.
//!
//! Because the scale is per output channel, `x · (q · s)ᵀ = (x · qᵀ) · s` exactly; what the
//! integer products change is only the rounding of the input to 14 bits (see [`crate::qgemm`]).

use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_hir::internal::*;

/// The node type [`fold_int8_matmuls`] writes and [`onnx`] reads.
pub const OP_TYPE: &str = "ReelsmithInt8MatMul";

/// ONNX's element type code for int8 and float.
const ONNX_INT8: i32 = 3;
const ONNX_FLOAT: i32 = 1;

/// tract's ONNX front end with [`OP_TYPE`] registered.
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register.insert(OP_TYPE, parse_int8_matmul);
    crate::attend::register(&mut onnx);
    onnx
}

/// Reads an ONNX model, rewrites its int8 matrix products ([`fold_int8_matmuls`]) and its
/// products by graph inputs ([`crate::attend`]) and parses it with [`onnx`]. Returns the model
/// and how many int8 products were rewritten.
pub fn model_for_bytes(bytes: &[u8]) -> TractResult<(InferenceModel, usize)> {
    use prost::Message;
    let onnx = onnx();
    let mut proto = pb::ModelProto::decode(bytes)?;
    let folded = fold_int8_matmuls(&mut proto);
    crate::attend::rewrite_input_matmuls(&mut proto);
    let model = onnx.model_for_proto_model(&proto)?;
    Ok((model, folded))
}

fn attr_int(node: &pb::NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn attr_ints<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a [i64]> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| &a.ints[..])
}

/// Rewrites `MatMul(x, DequantizeLinear(q, scale[, zero], axis))` — and the same with a
/// `Transpose(perm = [1, 0])` between the two — into `ReelsmithInt8MatMul(x, q, scale)` when
/// `q` is a rank-2 int8 initializer, `scale` an f32 initializer with one value per output
/// channel and `zero` absent or all zeros. A `DequantizeLinear` or `Transpose` left without a
/// reader is removed. Returns how many products were rewritten; anything else is left as it is.
pub fn fold_int8_matmuls(proto: &mut pb::ModelProto) -> usize {
    let Some(graph) = proto.graph.as_mut() else {
        return 0;
    };
    let initializer = |name: &str| graph.initializer.iter().find(|t| t.name == name);
    let producer = |name: &str| {
        graph
            .node
            .iter()
            .position(|n| n.output.iter().any(|o| o == name))
    };
    let mut rewrites = vec![];
    for (ix, node) in graph.node.iter().enumerate() {
        if node.op_type != "MatMul" || node.input.len() != 2 || !node.domain.is_empty() {
            continue;
        }
        let Some(mut weight) = producer(&node.input[1]) else {
            continue;
        };
        let mut between = None;
        let transposed = graph.node[weight].op_type == "Transpose";
        if transposed {
            // Without `perm` a Transpose reverses the axes: [1, 0] for a matrix.
            if !matches!(attr_ints(&graph.node[weight], "perm"), None | Some(&[1, 0])) {
                continue;
            }
            between = Some(weight);
            let Some(inner) = graph.node[weight].input.first().and_then(|i| producer(i)) else {
                continue;
            };
            weight = inner;
        }
        let dq = &graph.node[weight];
        if dq.op_type != "DequantizeLinear" || !(2..=3).contains(&dq.input.len()) {
            continue;
        }
        let (Some(q), Some(scale)) = (initializer(&dq.input[0]), initializer(&dq.input[1])) else {
            continue;
        };
        if q.data_type != ONNX_INT8 || q.dims.len() != 2 || scale.data_type != ONNX_FLOAT {
            continue;
        }
        // A zero point named "" is an absent one; a present one must hold its every value,
        // all zero (not in an external file, which the rewrite would never read).
        if let Some(zero) = dq.input.get(2).filter(|z| !z.is_empty()) {
            let all_zero = |z: &pb::TensorProto| {
                let count: i64 = z.dims.iter().product();
                let external =
                    z.data_location == Some(pb::tensor_proto::DataLocation::External as i32);
                !external
                    && ((z.raw_data.len() as i64 == count && z.raw_data.iter().all(|&b| b == 0))
                        || (z.int32_data.len() as i64 == count
                            && z.int32_data.iter().all(|&v| v == 0)))
            };
            if !initializer(zero).is_some_and(all_zero) {
                continue;
            }
        }
        // The channel axis is the output's: q's columns as stored, its rows once transposed.
        let axis = attr_int(dq, "axis").unwrap_or(1);
        let axis = if axis < 0 { axis + 2 } else { axis };
        let channel_axis = if transposed { 0 } else { 1 };
        let channels = q.dims[channel_axis];
        let scale_len: i64 = scale.dims.iter().product();
        if axis != channel_axis as i64 || scale_len != channels {
            continue;
        }
        rewrites.push((
            ix,
            weight,
            between,
            dq.input[0].clone(),
            dq.input[1].clone(),
            transposed,
        ));
    }
    let count = rewrites.len();
    let mut maybe_unused = vec![];
    for (ix, dq, between, q, scale, transposed) in rewrites {
        let node = &mut graph.node[ix];
        node.op_type = OP_TYPE.into();
        node.input = vec![node.input[0].clone(), q, scale];
        node.attribute = vec![transposed_attribute(transposed)];
        maybe_unused.extend(between);
        maybe_unused.push(dq);
    }
    // Drop the dequantizations (and transposes) nothing reads any more, readers first.
    maybe_unused.sort_unstable();
    maybe_unused.dedup();
    let mut removed = vec![false; graph.node.len()];
    loop {
        let mut changed = false;
        for &ix in &maybe_unused {
            if removed[ix] {
                continue;
            }
            let read = graph.node[ix].output.iter().any(|o| {
                graph.output.iter().any(|g| &g.name == o)
                    || graph
                        .node
                        .iter()
                        .enumerate()
                        .any(|(j, n)| !removed[j] && n.input.iter().any(|i| i == o))
            });
            if !read {
                removed[ix] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut keep = removed.iter().map(|r| !r);
    graph.node.retain(|_| keep.next().unwrap_or(true));
    transpose_for_products(graph);
    count
}

/// Turns each [K, N] int8 weight matrix read only by rewritten products into [N, K], in the
/// file's bytes, and marks its readers `transposed`: the products read a channel's weights
/// as one row. A matrix anything else reads (a token lookup, a graph output) stays as stored,
/// and [`Int8Weights::new`] makes the transposed copy it needs.
fn transpose_for_products(graph: &mut pb::GraphProto) {
    let is_transposed = |n: &pb::NodeProto| attr_int(n, "transposed").unwrap_or(0) != 0;
    let stored: Vec<String> = graph
        .node
        .iter()
        .filter(|n| n.op_type == OP_TYPE && !is_transposed(n))
        .filter_map(|n| n.input.get(1).cloned())
        .collect();
    for name in stored {
        let only_products = graph.node.iter().all(|n| {
            !n.input.contains(&name)
                || (n.op_type == OP_TYPE && !is_transposed(n) && n.input[1] == name)
        }) && !graph.output.iter().any(|o| o.name == name);
        let Some(q) = graph.initializer.iter_mut().find(|t| t.name == name) else {
            continue;
        };
        let (k, n) = (q.dims[0] as usize, q.dims[1] as usize);
        if !only_products || q.raw_data.len() != k * n {
            continue;
        }
        let stored = std::mem::take(&mut q.raw_data);
        q.raw_data = transpose_bytes(&stored, k, n);
        q.dims = vec![n as i64, k as i64];
        for node in graph.node.iter_mut() {
            if node.op_type == OP_TYPE && node.input[1] == name {
                node.attribute = vec![transposed_attribute(true)];
            }
        }
    }
}

/// [rows, cols] row by row → [cols, rows].
fn transpose_bytes<T: Copy>(values: &[T], rows: usize, cols: usize) -> Vec<T> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| values[r * cols + c]))
        .collect()
}

fn transposed_attribute(transposed: bool) -> pb::AttributeProto {
    pb::AttributeProto {
        name: "transposed".into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: i64::from(transposed),
        ..Default::default()
    }
}

fn parse_int8_matmul(
    _ctx: &ParsingContext,
    node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let transposed = node.get_attr_opt::<i64>("transposed")?.unwrap_or(0) != 0;
    Ok((expand(Int8MatMulExpansion { transposed }), vec![]))
}

/// The parsed node, before its weights are known to be constant.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Int8MatMulExpansion {
    transposed: bool,
}

impl Expansion for Int8MatMulExpansion {
    fn name(&self) -> StaticName {
        OP_TYPE.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> TractResult<()> {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, f32::datum_type())?;
        s.equals(&inputs[1].datum_type, i8::datum_type())?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&inputs[1].rank, 2)?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        let channel_axis = if self.transposed { 0 } else { 1 };
        s.given(&inputs[0].rank, move |s, rank| {
            let rank = rank as usize;
            for axis in 0..rank.saturating_sub(1) {
                s.equals(&inputs[0].shape[axis], &outputs[0].shape[axis])?;
            }
            if rank > 0 {
                s.equals(&outputs[0].shape[rank - 1], &inputs[1].shape[channel_axis])?;
            }
            Ok(())
        })
    }

    fn wire(
        &self,
        prefix: &str,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let q = target
            .outlet_fact(inputs[1])?
            .konst
            .clone()
            .context("int8 weights must be constant")?;
        let scale = target
            .outlet_fact(inputs[2])?
            .konst
            .clone()
            .context("weight scales must be constant")?;
        let weights = Int8Weights::new(q, &scale, self.transposed)?;
        target.wire_node(
            prefix,
            Int8MatMul {
                weights: Arc::new(weights),
            },
            &[inputs[0]],
        )
    }
}

/// A weight matrix kept as int8 with one f32 scale per output channel, [N, K]: a channel's
/// weights are one row.
#[derive(Debug)]
pub struct Int8Weights {
    q: Arc<Tensor>,
    scale: Vec<f32>,
    /// Inputs per output (K) and outputs (N).
    k: usize,
    n: usize,
}

impl Int8Weights {
    /// `q` [N, K] when `transposed` (as products read it), else [K, N] (transposed here, a
    /// copy), and `scale` with N values.
    pub fn new(q: Arc<Tensor>, scale: &Tensor, transposed: bool) -> TractResult<Self> {
        ensure!(
            q.datum_type() == i8::datum_type() && q.rank() == 2,
            "weights must be int8 [K, N]"
        );
        let (k, n) = if transposed {
            (q.shape()[1], q.shape()[0])
        } else {
            (q.shape()[0], q.shape()[1])
        };
        let scale: Vec<f32> = scale
            .cast_to::<f32>()?
            .try_as_plain_ram()?
            .as_slice::<f32>()?
            .to_vec();
        ensure!(
            scale.len() == n,
            "{} scales for {n} output channels",
            scale.len()
        );
        ensure!(k > 0 && n > 0, "an empty weight matrix ({k} × {n})");
        let q = if transposed {
            q
        } else {
            let stored = q.try_as_plain_ram()?;
            let rows = transpose_bytes(stored.as_slice::<i8>()?, k, n);
            Arc::new(Tensor::from_shape(&[n, k], &rows)?)
        };
        Ok(Self { q, scale, k, n })
    }

    /// Bytes held: the int8 matrix and its scales.
    pub fn bytes(&self) -> usize {
        self.k * self.n + 4 * self.n
    }

    fn q(&self) -> TractResult<&[i8]> {
        self.q.try_as_plain_ram()?.as_slice::<i8>()
    }

    /// `x` [rows, K] row by row → [rows, N] = x · Wᵀ with W dequantized (tests).
    #[cfg(test)]
    pub fn matmul(&self, x: &[f32], rows: usize) -> TractResult<Vec<f32>> {
        let x = Tensor::from_shape(&[rows, x.len() / rows.max(1)], x)?;
        let mut out = vec![0f32; rows * self.n];
        self.matmul_into(&x, &mut out)?;
        Ok(out)
    }

    /// `x` [rows, K] → `out` [rows, N] (overwritten) = x · Wᵀ with W dequantized, through
    /// integer products ([`crate::qgemm`]).
    pub fn matmul_into(&self, x: &Tensor, out: &mut [f32]) -> TractResult<()> {
        ensure!(
            x.rank() == 2 && x.shape()[1] == self.k,
            "input {:?} for k = {}",
            x.shape(),
            self.k
        );
        let rows = x.shape()[0];
        ensure!(
            out.len() == rows * self.n,
            "{} outputs for {rows} × {}",
            out.len(),
            self.n
        );
        let x_plain = x.try_as_plain_ram()?;
        let x = crate::qgemm::QuantRows::new(x_plain.as_slice::<f32>()?, self.k);
        crate::qgemm::gemm(&x, self.q()?, &self.scale, out);
        Ok(())
    }

    /// The same product the plain way: every weight dequantized, then multiplied (tests).
    #[cfg(test)]
    pub fn matmul_reference(&self, x: &[f32], rows: usize) -> TractResult<Vec<f32>> {
        let q = self.q()?;
        let mut out = vec![0f32; rows * self.n];
        for r in 0..rows {
            for c in 0..self.n {
                let mut sum = 0f64;
                for i in 0..self.k {
                    let w = f32::from(q[c * self.k + i]) * self.scale[c];
                    sum += f64::from(x[r * self.k + i]) * f64::from(w);
                }
                out[r * self.n + c] = sum as f32;
            }
        }
        Ok(out)
    }
}

/// `y = x · Wᵀ` over the last axis of `x`, W kept int8 ([`Int8Weights`]).
#[derive(Debug, Clone)]
pub struct Int8MatMul {
    pub weights: Arc<Int8Weights>,
}

impl PartialEq for Int8MatMul {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.weights, &other.weights)
    }
}

impl Eq for Int8MatMul {}

impl Op for Int8MatMul {
    fn name(&self) -> StaticName {
        "Int8MatMul".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "k={} n={} (int8, {} bytes)",
            self.weights.k,
            self.weights.n,
            self.weights.bytes()
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for Int8MatMul {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let shape = x.shape();
        ensure!(
            shape.last() == Some(&self.weights.k),
            "input {shape:?} for k = {}",
            self.weights.k
        );
        let rows: usize = shape[..shape.len() - 1].iter().product();
        let mut out_shape: TVec<usize> = shape[..shape.len() - 1].into();
        out_shape.push(self.weights.n);
        // Flattened to [rows, K] without a copy when the input is not shared.
        let x = x.into_tensor().into_shape(&[rows, self.weights.k])?;
        let mut out = Tensor::zero::<f32>(&[rows, self.weights.n])?;
        self.weights
            .matmul_into(&x, out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?)?;
        Ok(tvec!(out.into_shape(&out_shape)?.into_tvalue()))
    }
}

impl TypedOp for Int8MatMul {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape = inputs[0].shape.to_tvec();
        ensure!(
            shape.pop().is_some(),
            "an int8 product needs a vector input"
        );
        shape.push(self.weights.n.to_dim());
        Ok(tvec!(f32::fact(&*shape)))
    }

    as_op!();
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn weights(q: Vec<i8>, k: usize, n: usize, transposed: bool) -> Int8Weights {
        let shape = if transposed { [n, k] } else { [k, n] };
        let q = Tensor::from_shape(&shape, &q).unwrap();
        let scale: Vec<f32> = (0..n).map(|c| 0.001 + c as f32 * 0.0007).collect();
        Int8Weights::new(
            Arc::new(q),
            &Tensor::from_shape(&[n], &scale).unwrap(),
            transposed,
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// The products equal dequantize-then-multiply within the input's rounding to 14
        /// bits, for both weight layouts, across the register blocks' edges.
        #[test]
        fn products_equal_the_dequantized_product(
            k in 1usize..70,
            n in 1usize..(crate::qgemm::PANEL + 40),
            rows in 1usize..12,
            transposed: bool,
            seed: u64,
        ) {
            let mut state = seed | 1;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let q: Vec<i8> = (0..k * n).map(|_| (next() % 255) as i8).collect();
            let x: Vec<f32> = (0..rows * k).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0).collect();
            let w = weights(q, k, n, transposed);
            let got = w.matmul(&x, rows).unwrap();
            let want = w.matmul_reference(&x, rows).unwrap();
            // Each input is off by at most half a step of its row's largest / ACT_MAX.
            let weight_sum = |c: usize| -> f32 {
                (0..k).map(|i| f32::from(w.q().unwrap()[c * k + i]).abs() * w.scale[c]).sum()
            };
            for r in 0..rows {
                let largest = x[r * k..][..k].iter().fold(0f32, |m, v| m.max(v.abs()));
                for c in 0..n {
                    let (g, e) = (got[r * n + c], want[r * n + c]);
                    let bound = 0.5 * largest / crate::qgemm::ACT_MAX * weight_sum(c)
                        + 1e-5 * e.abs() + 1e-6;
                    prop_assert!((g - e).abs() <= bound, "{g} vs {e}");
                }
            }
        }
    }

    fn init(name: &str, data_type: i32, dims: &[i64], raw: Vec<u8>) -> pb::TensorProto {
        pb::TensorProto {
            name: name.into(),
            data_type,
            dims: dims.to_vec(),
            raw_data: raw,
            ..Default::default()
        }
    }

    fn node(op: &str, inputs: &[&str], output: &str, ints: &[(&str, i64)]) -> pb::NodeProto {
        pb::NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: output.into(),
            attribute: ints
                .iter()
                .map(|(name, i)| pb::AttributeProto {
                    name: name.to_string(),
                    r#type: pb::attribute_proto::AttributeType::Int as i32,
                    i: *i,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|f| f.to_le_bytes()).collect()
    }

    /// q [2, 3] int8 with scales for its 3 columns, and a second zero point that is not zero.
    fn graph(nodes: Vec<pb::NodeProto>) -> pb::ModelProto {
        pb::ModelProto {
            graph: Some(pb::GraphProto {
                node: nodes,
                initializer: vec![
                    init("q", ONNX_INT8, &[2, 3], vec![1, 2, 3, 4, 5, 6]),
                    init("s", ONNX_FLOAT, &[3], f32_bytes(&[0.5, 0.25, 1.0])),
                    init("s2", ONNX_FLOAT, &[2], f32_bytes(&[0.5, 0.25])),
                    init("z", ONNX_INT8, &[3], vec![0, 0, 0]),
                    init("z1", ONNX_INT8, &[3], vec![0, 1, 0]),
                    init("z_empty", ONNX_INT8, &[3], vec![]),
                ],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn ops(proto: &pb::ModelProto) -> Vec<String> {
        proto
            .graph
            .as_ref()
            .unwrap()
            .node
            .iter()
            .map(|n| n.op_type.clone())
            .collect()
    }

    #[test]
    fn a_product_of_dequantized_initializers_becomes_one_node() {
        let mut proto = graph(vec![
            node("DequantizeLinear", &["q", "s", "z"], "w", &[("axis", 1)]),
            node("MatMul", &["x", "w"], "y", &[]),
        ]);
        assert_eq!(fold_int8_matmuls(&mut proto), 1);
        assert_eq!(ops(&proto), [OP_TYPE]);
        let graph = proto.graph.as_ref().unwrap();
        assert_eq!(graph.node[0].input, ["x", "q", "s"]);
        // Read by this product alone, q [2, 3] is stored transposed, one row per channel.
        assert_eq!(graph.node[0].attribute[0].i, 1);
        let q = &graph.initializer[0];
        assert_eq!(
            (q.dims.as_slice(), q.raw_data.as_slice()),
            (&[3i64, 2][..], &[1u8, 4, 2, 5, 3, 6][..])
        );
    }

    #[test]
    fn weights_transposed_in_the_file_give_the_same_products() {
        let proto = graph(vec![
            node("DequantizeLinear", &["q", "s", "z"], "w", &[("axis", 1)]),
            node("MatMul", &["x", "w"], "y", &[]),
        ]);
        let stored = &proto.graph.as_ref().unwrap().initializer[0];
        let q = Tensor::from_shape(&[2, 3], &[1i8, 2, 3, 4, 5, 6]).unwrap();
        let scale = Tensor::from_shape(&[3], &[0.5f32, 0.25, 1.0]).unwrap();
        let as_stored = Int8Weights::new(Arc::new(q), &scale, false).unwrap();
        let mut folded = proto.clone();
        fold_int8_matmuls(&mut folded);
        let t = &folded.graph.as_ref().unwrap().initializer[0];
        assert_ne!(t.raw_data, stored.raw_data);
        let values: Vec<i8> = t.raw_data.iter().map(|&b| b as i8).collect();
        let q = Tensor::from_shape(&[3, 2], &values).unwrap();
        let from_file = Int8Weights::new(Arc::new(q), &scale, true).unwrap();
        let x = [0.3f32, -1.0, 2.0, 0.5];
        assert_eq!(
            as_stored.matmul(&x, 2).unwrap(),
            from_file.matmul(&x, 2).unwrap()
        );
        let want = [-1.85f32, -1.1, -5.1, 2.0, 1.625, 9.0];
        for (got, want) in as_stored.matmul(&x, 2).unwrap().iter().zip(want) {
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
    }

    #[test]
    fn a_transposed_table_is_read_by_its_rows_and_stays_for_other_readers() {
        // q read as [3 rows of 2]: the scales must then follow axis 0 — three of them for q's
        // two rows do not fit, so this one is left alone…
        let mut transpose = node("Transpose", &["w"], "wt", &[]);
        transpose.attribute.push(pb::AttributeProto {
            name: "perm".into(),
            r#type: pb::attribute_proto::AttributeType::Ints as i32,
            ints: vec![1, 0],
            ..Default::default()
        });
        let mut proto = graph(vec![
            node("DequantizeLinear", &["q", "s"], "w", &[("axis", 0)]),
            transpose.clone(),
            node("MatMul", &["x", "wt"], "y", &[]),
        ]);
        assert_eq!(fold_int8_matmuls(&mut proto), 0);
        assert_eq!(ops(&proto), ["DequantizeLinear", "Transpose", "MatMul"]);
        // With two scales (one per row of q, the product's outputs) it is rewritten.
        let mut proto = graph(vec![
            node("DequantizeLinear", &["q", "s2"], "w", &[("axis", 0)]),
            transpose,
            node("MatMul", &["x", "wt"], "y", &[]),
        ]);
        assert_eq!(fold_int8_matmuls(&mut proto), 1);
        assert_eq!(ops(&proto), [OP_TYPE]);
        let rewritten = &proto.graph.as_ref().unwrap().node[0];
        assert_eq!(
            (rewritten.input.as_slice(), rewritten.attribute[0].i),
            (&["x".to_string(), "q".into(), "s2".into()][..], 1)
        );
        // …while a Gather reading the same dequantized table keeps it when the product goes.
        let mut proto = graph(vec![
            node("DequantizeLinear", &["q", "s"], "w", &[("axis", 1)]),
            node("Gather", &["w", "i"], "g", &[]),
            node("MatMul", &["x", "w"], "y", &[]),
        ]);
        assert_eq!(fold_int8_matmuls(&mut proto), 1);
        assert_eq!(ops(&proto), ["DequantizeLinear", "Gather", OP_TYPE]);
        // The Gather reads q as stored, so it is not transposed in the file.
        let graph = proto.graph.as_ref().unwrap();
        assert_eq!(graph.node[2].attribute[0].i, 0);
        assert_eq!(graph.initializer[0].raw_data, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_nonzero_zero_point_or_a_per_tensor_scale_is_left_as_written() {
        let mut proto = graph(vec![
            node("DequantizeLinear", &["q", "s", "z1"], "w", &[("axis", 1)]),
            node("MatMul", &["x", "w"], "y", &[]),
        ]);
        assert_eq!(fold_int8_matmuls(&mut proto), 0);
        let mut proto = graph(vec![
            node("DequantizeLinear", &["q", "s"], "w", &[("axis", 0)]),
            node("MatMul", &["x", "w"], "y", &[]),
        ]);
        assert_eq!(
            fold_int8_matmuls(&mut proto),
            0,
            "scales along the wrong axis"
        );
        // A zero point that does not hold its values (external, or missing) is not assumed 0.
        let mut proto = graph(vec![
            node(
                "DequantizeLinear",
                &["q", "s", "z_empty"],
                "w",
                &[("axis", 1)],
            ),
            node("MatMul", &["x", "w"], "y", &[]),
        ]);
        assert_eq!(
            fold_int8_matmuls(&mut proto),
            0,
            "a zero point without data"
        );
    }

    #[test]
    fn a_negative_axis_and_an_unnamed_zero_point_are_read_as_onnx_defines_them() {
        let mut proto = graph(vec![
            node("DequantizeLinear", &["q", "s", ""], "w", &[("axis", -1)]),
            node("MatMul", &["x", "w"], "y", &[]),
        ]);
        assert_eq!(fold_int8_matmuls(&mut proto), 1);
        assert_eq!(ops(&proto), [OP_TYPE]);
    }
}
