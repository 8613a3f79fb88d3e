package org.prefscore.chat;

import java.util.List;
import java.util.Map;

/**
 * The syntax tree of a chat template: what {@link JinjaParser} builds and {@link JinjaRenderer}
 * evaluates. Every node carries the template line it came from, for error messages.
 */
final class JinjaAst {

  private JinjaAst() {}

  // -- expressions

  /** An expression. */
  sealed interface Expr
      permits Const,
          Name,
          ListLit,
          TupleLit,
          DictLit,
          GetAttr,
          GetItem,
          Slice,
          Call,
          Filter,
          Test,
          Unary,
          Binary,
          And,
          Or,
          Compare,
          CondExpr {
    int line();
  }

  /** A literal: string, integer (Long), float (Double), boolean, or None (null). */
  record Const(Object value, int line) implements Expr {}

  /** A variable. */
  record Name(String name, int line) implements Expr {}

  record ListLit(List<Expr> items, int line) implements Expr {}

  record TupleLit(List<Expr> items, int line) implements Expr {}

  record DictLit(List<Expr> keys, List<Expr> values, int line) implements Expr {}

  /** {@code target.name}. */
  record GetAttr(Expr target, String name, int line) implements Expr {}

  /** {@code target[key]}. */
  record GetItem(Expr target, Expr key, int line) implements Expr {}

  /** {@code target[start:stop:step]}, each part optional (null). */
  record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr {}

  /** {@code callee(args, name=value)}. */
  record Call(Expr callee, List<Expr> args, Map<String, Expr> kwargs, int line) implements Expr {}

  /** {@code value | name(args, name=value)}. */
  record Filter(Expr value, String name, List<Expr> args, Map<String, Expr> kwargs, int line)
      implements Expr {}

  /** {@code value is [not] name(args)}. */
  record Test(Expr value, String name, List<Expr> args, boolean negated, int line)
      implements Expr {}

  /** {@code not x}, {@code -x}, {@code +x}. */
  record Unary(String op, Expr operand, int line) implements Expr {}

  /** Arithmetic and concatenation: + - * / // % ** ~. */
  record Binary(String op, Expr left, Expr right, int line) implements Expr {}

  record And(Expr left, Expr right, int line) implements Expr {}

  record Or(Expr left, Expr right, int line) implements Expr {}

  /**
   * A (chained) comparison: {@code first op0 rest0 op1 rest1 ...}; ops: == != < > <= >= in notin.
   */
  record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr {}

  /** {@code then if test else otherwise}; {@code otherwise} null when there is no else. */
  record CondExpr(Expr test, Expr then, Expr otherwise, int line) implements Expr {}

  // -- statements

  /** A template node. */
  sealed interface Node
      permits Text,
          Output,
          If,
          For,
          Set,
          SetBlock,
          Macro,
          FilterBlock,
          Break,
          Continue,
          Generation {
    int line();
  }

  record Text(String text, int line) implements Node {}

  /** {@code {{ expr }}}. */
  record Output(Expr expr, int line) implements Node {}

  /** if / elif ... / else: {@code tests.get(i)} guards {@code bodies.get(i)}. */
  record If(List<Expr> tests, List<List<Node>> bodies, List<Node> otherwise, int line)
      implements Node {}

  /** {@code for targets in iterable [if filter] [recursive]} ... [else] ... endfor. */
  record For(
      List<String> targets,
      Expr iterable,
      Expr filter,
      boolean recursive,
      List<Node> body,
      List<Node> otherwise,
      int line)
      implements Node {}

  /**
   * {@code set a = x}, {@code set a, b = x}, or {@code set ns.attr = x} ({@code namespace}
   * non-null).
   */
  record Set(String namespace, List<String> targets, Expr value, int line) implements Node {}

  /** {@code set name [| filters] } ... endset. */
  record SetBlock(String name, List<Filter> filters, List<Node> body, int line) implements Node {}

  /** {@code macro name(params, param=default)} ... endmacro. */
  record Macro(
      String name, List<String> params, Map<String, Expr> defaults, List<Node> body, int line)
      implements Node {}

  /** {@code filter name(args) | ...} ... endfilter: the filters apply to the body's output. */
  record FilterBlock(List<Filter> filters, List<Node> body, int line) implements Node {}

  record Break(int line) implements Node {}

  record Continue(int line) implements Node {}

  /** transformers' {@code generation} tag: renders its body as it is. */
  record Generation(List<Node> body, int line) implements Node {}
}
