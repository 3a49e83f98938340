"""Logic families for the structural tier: small random theories with nonce names whose
answers, proofs and proof depths come from `synth.world.solver.Closure`.

  theory_chain    taxonomy chains (PrOntoQA style), negation, open world, proof checking
  relation_chain  transitive chains with inverse, one-way and symmetric relations
  propositional   Horn rules over nonce statements
  counterfactual  a theory with one rule replaced or added

Each module has the item generator (registered on import) and a `score` function.
"""

from synth.families.logic import counterfactual, propositional, relation_chain, theory_chain

__all__ = ["counterfactual", "propositional", "relation_chain", "theory_chain"]
