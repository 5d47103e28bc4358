/**
 * The graph shapes the clustering code passes around. Both are plain typed arrays, so they cost
 * nothing to hand between modules, workers or a notebook cell.
 */

/** An undirected weighted graph as an edge list: each undirected edge listed once, no self loops. */
export interface EdgeList {
  /** Number of nodes; node ids are 0..n-1 (a node may have no edge). */
  n: number;
  src: Uint32Array;
  dst: Uint32Array;
  /** Edge weights, finite and positive (modularity is defined for non-negative weights). */
  weight: Float32Array | Float64Array;
}

/**
 * Compressed sparse rows of an undirected graph: node i's neighbours are
 * `targets[offsets[i]..offsets[i+1])`, each undirected edge appearing in both endpoints' rows.
 */
export interface CsrGraph {
  n: number;
  offsets: Int32Array;
  targets: Int32Array;
  weights: Float64Array;
  /** Sum of the weights of each node's edges. */
  degrees: Float64Array;
  /** Sum of all edge weights, each undirected edge once (the m of modularity). */
  totalWeight: number;
}

/** Which similarity graph to build; recorded as is in every run summary. */
export type GraphSpec =
  | {
      /** The paper's graph: an edge where cosine ≥ threshold, keeping each node's `cap` most similar. */
      kind: "threshold";
      threshold: number;
      cap: number;
    }
  | {
      /** Each node's k most similar nodes (positive cosine only), symmetrised by union. */
      kind: "knn";
      k: number;
    };

/** What was built: the spec and what came of it. */
export interface GraphInfo {
  spec: GraphSpec;
  nodes: number;
  edges: number;
  /** Nodes without any edge (DCvCD sends them to the nearest centroid). */
  isolated: number;
  meanDegree: number;
  /** Threshold graphs: nodes that had more than `cap` neighbours above the threshold and were cut to `cap`. */
  capped: number;
  /** Wall time of the build in milliseconds. */
  ms: number;
}

/** A similarity graph with the record of how it was made. */
export interface SimilarityGraph extends EdgeList {
  info: GraphInfo;
}
