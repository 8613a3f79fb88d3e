package org.prefscore.chat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.prefscore.chat.JinjaAst.And;
import org.prefscore.chat.JinjaAst.Break;
import org.prefscore.chat.JinjaAst.Call;
import org.prefscore.chat.JinjaAst.Compare;
import org.prefscore.chat.JinjaAst.CondExpr;
import org.prefscore.chat.JinjaAst.Const;
import org.prefscore.chat.JinjaAst.Continue;
import org.prefscore.chat.JinjaAst.DictLit;
import org.prefscore.chat.JinjaAst.Expr;
import org.prefscore.chat.JinjaAst.Filter;
import org.prefscore.chat.JinjaAst.FilterBlock;
import org.prefscore.chat.JinjaAst.For;
import org.prefscore.chat.JinjaAst.Generation;
import org.prefscore.chat.JinjaAst.GetAttr;
import org.prefscore.chat.JinjaAst.GetItem;
import org.prefscore.chat.JinjaAst.If;
import org.prefscore.chat.JinjaAst.ListLit;
import org.prefscore.chat.JinjaAst.Macro;
import org.prefscore.chat.JinjaAst.Name;
import org.prefscore.chat.JinjaAst.Node;
import org.prefscore.chat.JinjaAst.Or;
import org.prefscore.chat.JinjaAst.Output;
import org.prefscore.chat.JinjaAst.SetBlock;
import org.prefscore.chat.JinjaAst.Slice;
import org.prefscore.chat.JinjaAst.Test;
import org.prefscore.chat.JinjaAst.Text;
import org.prefscore.chat.JinjaAst.TupleLit;
import org.prefscore.chat.JinjaAst.Unary;
import org.prefscore.chat.Py.Callable;
import org.prefscore.chat.Py.Namespace;
import org.prefscore.chat.Py.PyError;
import org.prefscore.chat.Py.Tuple;
import org.prefscore.chat.Py.Undefined;

/**
 * Evaluates a parsed template over plain values with Jinja2's semantics in transformers'
 * configuration (an {@code ImmutableSandboxedEnvironment}): lists and dicts cannot be modified,
 * attributes starting with an underscore are refused, and only {@link Builtins}' filters, tests,
 * functions and methods exist. One instance per render, on one thread, under one {@link Budget}.
 */
final class JinjaRenderer {

  /** A failure at a template line. */
  static final class RenderError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int line;

    RenderError(String message, int line, Throwable cause) {
      super(message + " (line " + line + ")", cause, false, false);
      this.line = line;
    }
  }

  /** The template's {@code raise_exception(msg)}. */
  static final class RaisedByTemplate extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RaisedByTemplate(String message) {
      super(message, null, false, false);
    }
  }

  private static final class BreakSignal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BreakSignal() {
      super(null, null, false, false);
    }
  }

  private static final class ContinueSignal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ContinueSignal() {
      super(null, null, false, false);
    }
  }

  private static final BreakSignal BREAK = new BreakSignal();
  private static final ContinueSignal CONTINUE = new ContinueSignal();

  /** A scope: the template's, a loop body's, a macro call's. */
  static final class Frame {
    final Frame parent;
    final Map<String, Object> vars = new HashMap<>();

    Frame(Frame parent) {
      this.parent = parent;
    }

    Object lookup(String name) {
      for (Frame f = this; f != null; f = f.parent) {
        Object v = f.vars.get(name);
        if (v != null || f.vars.containsKey(name)) {
          return v;
        }
      }
      return new Undefined("'" + name + "'");
    }
  }

  final Budget budget;

  JinjaRenderer(Budget budget) {
    this.budget = budget;
  }

  /** Renders {@code nodes} in a template frame holding the globals and {@code bindings}. */
  String render(List<Node> nodes, Map<String, Object> bindings) {
    Frame globals = new Frame(null);
    globals.vars.putAll(Builtins.globals(this));
    Frame frame = new Frame(globals);
    frame.vars.putAll(bindings);
    StringBuilder out = new StringBuilder();
    try {
      renderNodes(nodes, frame, out);
    } catch (BreakSignal | ContinueSignal e) {
      throw new RenderError("'break' or 'continue' outside a loop", 0, null);
    }
    return out.toString();
  }

  // -- nodes

  void renderNodes(List<Node> nodes, Frame frame, StringBuilder out) {
    for (Node node : nodes) {
      renderNode(node, frame, out);
    }
  }

  private void renderNode(Node node, Frame frame, StringBuilder out) {
    try {
      if (node instanceof Text t) {
        write(out, t.text());
      } else if (node instanceof Output o) {
        Object value = eval(o.expr(), frame);
        write(out, value instanceof String s ? s : sized(value));
      } else if (node instanceof If i) {
        for (int k = 0; k < i.tests().size(); k++) {
          if (Py.truthy(eval(i.tests().get(k), frame))) {
            renderNodes(i.bodies().get(k), frame, out);
            return;
          }
        }
        renderNodes(i.otherwise(), frame, out);
      } else if (node instanceof For f) {
        Object iterable = eval(f.iterable(), frame);
        renderLoop(f, iterable, frame, out, 0);
      } else if (node instanceof JinjaAst.Set s) {
        assign(s, frame);
      } else if (node instanceof SetBlock s) {
        StringBuilder body = new StringBuilder();
        renderNodes(s.body(), new Frame(frame), body);
        Object value = body.toString();
        for (Filter filter : s.filters()) {
          value = applyFilter(filter, value, frame);
        }
        frame.vars.put(s.name(), value);
      } else if (node instanceof Macro m) {
        frame.vars.put(m.name(), new MacroFunction(m, frame));
      } else if (node instanceof FilterBlock b) {
        StringBuilder body = new StringBuilder();
        renderNodes(b.body(), new Frame(frame), body);
        Object value = body.toString();
        for (Filter filter : b.filters()) {
          value = applyFilter(filter, value, frame);
        }
        write(out, Py.str(value));
      } else if (node instanceof Generation g) {
        renderNodes(g.body(), frame, out);
      } else if (node instanceof Break b) {
        throw BREAK;
      } else if (node instanceof Continue c) {
        throw CONTINUE;
      }
    } catch (PyError e) {
      throw new RenderError(e.getMessage(), node.line(), e);
    }
  }

  private void write(StringBuilder out, String text) {
    budget.output(out.length() + (long) text.length());
    out.append(text);
  }

  /** str(value), its size checked against the budget before it is built. */
  String sized(Object value) {
    if (value instanceof String s) {
      return s;
    }
    if (value instanceof List || value instanceof Map) {
      budget.ensureRoom(reprSize(value, 0));
      String s = Py.str(value);
      budget.allocate(s.length());
      return s;
    }
    return Py.str(value);
  }

  /** An upper bound of repr(value)'s length, stopping early once it is clearly too large. */
  private long reprSize(Object value, int depth) {
    if (depth > 200) {
      throw new PyError("value nested too deeply to print");
    }
    if (value instanceof String s) {
      return 4L * s.length() + 2;
    }
    if (value instanceof List<?> l) {
      long n = 2;
      for (Object x : l) {
        n += 2 + reprSize(x, depth + 1);
        if (n > budget.limits().allocatedChars()) {
          return n;
        }
      }
      return n;
    }
    if (value instanceof Map<?, ?> m) {
      long n = 2;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        n += 4 + reprSize(e.getKey(), depth + 1) + reprSize(e.getValue(), depth + 1);
        if (n > budget.limits().allocatedChars()) {
          return n;
        }
      }
      return n;
    }
    return 32;
  }

  private void assign(JinjaAst.Set s, Frame frame) {
    Object value = eval(s.value(), frame);
    if (s.namespace() != null) {
      Object target = frame.lookup(s.namespace());
      if (!(target instanceof Namespace ns)) {
        throw new PyError("cannot assign attribute on non-namespace object");
      }
      ns.attributes.put(s.targets().get(0), value);
      return;
    }
    bind(s.targets(), value, frame);
  }

  private static void bind(List<String> targets, Object value, Frame frame) {
    if (targets.size() == 1) {
      frame.vars.put(targets.get(0), value);
      return;
    }
    List<Object> items = Py.iterate(value);
    if (items.size() != targets.size()) {
      throw new PyError(
          (items.size() < targets.size() ? "not enough" : "too many")
              + " values to unpack (expected "
              + targets.size()
              + ", got "
              + items.size()
              + ")");
    }
    for (int i = 0; i < targets.size(); i++) {
      frame.vars.put(targets.get(i), items.get(i));
    }
  }

  /** Renders a for loop over {@code iterable}; {@code depth} is 0 at the top of a recursion. */
  void renderLoop(For f, Object iterable, Frame outer, StringBuilder out, int depth) {
    List<Object> items = Py.iterate(iterable);
    budget.allocate(items.size());
    Frame frame = new Frame(outer);
    if (f.filter() != null) {
      List<Object> kept = new ArrayList<>();
      for (Object item : items) {
        budget.iteration();
        bind(f.targets(), item, frame);
        if (Py.truthy(eval(f.filter(), frame))) {
          kept.add(item);
        }
      }
      items = kept;
    }
    if (items.isEmpty()) {
      renderNodes(f.otherwise(), outer, out);
      return;
    }
    Loop loop = new Loop(this, f, outer, items, depth);
    frame.vars.put("loop", loop);
    for (int i = 0; i < items.size(); i++) {
      budget.iteration();
      loop.index0 = i;
      bind(f.targets(), items.get(i), frame);
      try {
        renderNodes(f.body(), frame, out);
      } catch (ContinueSignal c) {
        // next item
      } catch (BreakSignal b) {
        break;
      }
    }
  }

  // -- expressions

  Object eval(Expr expr, Frame frame) {
    if (expr instanceof Const c) {
      return c.value();
    } else if (expr instanceof Name n) {
      return frame.lookup(n.name());
    } else if (expr instanceof ListLit l) {
      List<Object> items = new ArrayList<>(l.items().size());
      for (Expr e : l.items()) {
        items.add(eval(e, frame));
      }
      budget.allocate(items.size());
      return items;
    } else if (expr instanceof TupleLit t) {
      List<Object> items = new ArrayList<>(t.items().size());
      for (Expr e : t.items()) {
        items.add(eval(e, frame));
      }
      budget.allocate(items.size());
      return new Tuple(items);
    } else if (expr instanceof DictLit d) {
      Map<Object, Object> map = new LinkedHashMap<>();
      for (int i = 0; i < d.keys().size(); i++) {
        Object key = eval(d.keys().get(i), frame);
        if (key instanceof List || key instanceof Map || key instanceof Undefined) {
          throw new PyError("unhashable type: '" + Py.typeName(key) + "'");
        }
        map.put(key, eval(d.values().get(i), frame));
      }
      budget.allocate(map.size());
      return map;
    } else if (expr instanceof GetAttr g) {
      return Builtins.getattr(this, eval(g.target(), frame), g.name());
    } else if (expr instanceof GetItem g) {
      Object target = eval(g.target(), frame);
      Object key = eval(g.key(), frame);
      if (key instanceof String name && !(target instanceof Map)) {
        // Jinja2's getitem falls back to the attribute for a string key.
        return Builtins.getattr(this, target, name);
      }
      return Py.getItem(target, key);
    } else if (expr instanceof Slice s) {
      return Py.slice(
          eval(s.target(), frame),
          s.start() == null ? null : eval(s.start(), frame),
          s.stop() == null ? null : eval(s.stop(), frame),
          s.step() == null ? null : eval(s.step(), frame));
    } else if (expr instanceof Call c) {
      Object callee = eval(c.callee(), frame);
      List<Object> args = new ArrayList<>(c.args().size());
      for (Expr e : c.args()) {
        args.add(eval(e, frame));
      }
      Map<String, Object> kwargs = new LinkedHashMap<>();
      c.kwargs().forEach((k, e) -> kwargs.put(k, eval(e, frame)));
      return call(callee, args, kwargs);
    } else if (expr instanceof Filter f) {
      return applyFilter(f, eval(f.value(), frame), frame);
    } else if (expr instanceof Test t) {
      Object value = eval(t.value(), frame);
      List<Object> args = new ArrayList<>(t.args().size());
      for (Expr e : t.args()) {
        args.add(eval(e, frame));
      }
      boolean result = Builtins.test(this, t.name(), value, args);
      return t.negated() != result;
    } else if (expr instanceof Unary u) {
      Object v = eval(u.operand(), frame);
      return switch (u.op()) {
        case "not" -> !Py.truthy(v);
        case "-" -> {
          if (Py.isInt(v)) {
            long l = Py.asLong(v);
            if (l == Long.MIN_VALUE) {
              throw new PyError("integer overflow in -" + l);
            }
            yield -l;
          }
          if (v instanceof Double d) {
            yield -d;
          }
          throw new PyError("bad operand type for unary -: '" + Py.typeName(v) + "'");
        }
        default -> {
          if (!Py.isNumber(v)) {
            throw new PyError("bad operand type for unary +: '" + Py.typeName(v) + "'");
          }
          yield v instanceof Boolean ? (Object) Py.asLong(v) : v;
        }
      };
    } else if (expr instanceof JinjaAst.Binary b) {
      Object left = eval(b.left(), frame);
      Object right = eval(b.right(), frame);
      if (b.op().equals("~")) {
        String l = sized(left);
        String r = sized(right);
        budget.allocate(l.length() + (long) r.length());
        return l + r;
      }
      return Py.arithmetic(b.op(), left, right, budget);
    } else if (expr instanceof And a) {
      Object left = eval(a.left(), frame);
      return Py.truthy(left) ? eval(a.right(), frame) : left;
    } else if (expr instanceof Or o) {
      Object left = eval(o.left(), frame);
      return Py.truthy(left) ? left : eval(o.right(), frame);
    } else if (expr instanceof Compare c) {
      Object left = eval(c.first(), frame);
      for (int i = 0; i < c.ops().size(); i++) {
        Object right = eval(c.rest().get(i), frame);
        if (!compare(c.ops().get(i), left, right)) {
          return false;
        }
        left = right;
      }
      return true;
    } else if (expr instanceof CondExpr c) {
      if (Py.truthy(eval(c.test(), frame))) {
        return eval(c.then(), frame);
      }
      return c.otherwise() == null
          ? new Undefined("the else branch of an if expression")
          : eval(c.otherwise(), frame);
    }
    throw new IllegalStateException("unknown expression " + expr);
  }

  private static boolean compare(String op, Object a, Object b) {
    return switch (op) {
      case "==" -> Py.eq(a, b);
      case "!=" -> !Py.eq(a, b);
      case "<" -> Py.compare(a, b, op) < 0;
      case "<=" -> Py.compare(a, b, op) <= 0;
      case ">" -> Py.compare(a, b, op) > 0;
      case ">=" -> Py.compare(a, b, op) >= 0;
      case "in" -> Py.contains(b, a);
      default -> !Py.contains(b, a);
    };
  }

  private Object applyFilter(Filter f, Object value, Frame frame) {
    List<Object> args = new ArrayList<>(f.args().size());
    for (Expr e : f.args()) {
      args.add(eval(e, frame));
    }
    Map<String, Object> kwargs = new LinkedHashMap<>();
    f.kwargs().forEach((k, e) -> kwargs.put(k, eval(e, frame)));
    return Builtins.filter(this, f.name(), value, args, kwargs);
  }

  Object call(Object callee, List<Object> args, Map<String, Object> kwargs) {
    if (callee instanceof Callable c) {
      budget.enterCall();
      try {
        return c.call(args, kwargs);
      } finally {
        budget.exitCall();
      }
    }
    if (callee instanceof Undefined u) {
      throw u.error();
    }
    throw new PyError("'" + Py.typeName(callee) + "' object is not callable");
  }

  // -- template objects

  /** A macro, bound to the frame it was defined in. */
  final class MacroFunction implements Callable {
    private final Macro macro;
    private final Frame closure;

    MacroFunction(Macro macro, Frame closure) {
      this.macro = macro;
      this.closure = closure;
    }

    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
      List<String> params = macro.params();
      if (args.size() > params.size()) {
        throw new PyError(
            "macro '" + macro.name() + "' takes not more than " + params.size() + " argument(s)");
      }
      Frame frame = new Frame(closure);
      for (String name : kwargs.keySet()) {
        if (!params.contains(name)) {
          throw new PyError(
              "macro '" + macro.name() + "' takes no keyword argument '" + name + "'");
        }
      }
      for (int i = 0; i < params.size(); i++) {
        String name = params.get(i);
        Object value;
        if (i < args.size()) {
          value = args.get(i);
        } else if (kwargs.containsKey(name)) {
          value = kwargs.get(name);
        } else if (macro.defaults().containsKey(name)) {
          value = eval(macro.defaults().get(name), frame);
        } else {
          value = new Undefined("parameter '" + name + "' of macro '" + macro.name() + "'");
        }
        frame.vars.put(name, value);
      }
      StringBuilder out = new StringBuilder();
      try {
        renderNodes(macro.body(), frame, out);
      } catch (BreakSignal | ContinueSignal e) {
        throw new PyError("'break' or 'continue' outside a loop");
      }
      budget.allocate(out.length());
      return out.toString();
    }
  }

  /** Jinja2's {@code loop} object. */
  static final class Loop implements Callable {
    private final JinjaRenderer renderer;
    private final For node;
    private final Frame outer;
    private final List<Object> items;
    private final int depth;
    int index0;
    private Object lastChanged = new Object();

    Loop(JinjaRenderer renderer, For node, Frame outer, List<Object> items, int depth) {
      this.renderer = renderer;
      this.node = node;
      this.outer = outer;
      this.items = items;
      this.depth = depth;
    }

    /** {@code loop.name}, or null when the loop has no such attribute. */
    Object attribute(String name) {
      int n = items.size();
      return switch (name) {
        case "index" -> (long) index0 + 1;
        case "index0" -> (long) index0;
        case "revindex" -> (long) (n - index0);
        case "revindex0" -> (long) (n - index0 - 1);
        case "first" -> index0 == 0;
        case "last" -> index0 == n - 1;
        case "length" -> (long) n;
        case "depth" -> (long) depth + 1;
        case "depth0" -> (long) depth;
        case "previtem" ->
            index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
        case "nextitem" ->
            index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
        case "cycle" ->
            (Callable)
                (args, kwargs) -> {
                  if (args.isEmpty()) {
                    throw new PyError("no items for cycling given");
                  }
                  return args.get(index0 % args.size());
                };
        case "changed" ->
            (Callable)
                (args, kwargs) -> {
                  Object value = new Tuple(args);
                  boolean changed = !(lastChanged instanceof Tuple) || !Py.eq(lastChanged, value);
                  lastChanged = value;
                  return changed;
                };
        default -> null;
      };
    }

    /** {@code loop(children)} in a recursive loop: the body rendered over children. */
    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
      if (!node.recursive()) {
        throw new PyError("the loop is not recursive: use 'for ... recursive' to call loop()");
      }
      if (args.size() != 1 || !kwargs.isEmpty()) {
        throw new PyError("loop() takes exactly one argument");
      }
      StringBuilder out = new StringBuilder();
      renderer.renderLoop(node, args.get(0), outer, out, depth + 1);
      renderer.budget.allocate(out.length());
      return out.toString();
    }
  }
}
