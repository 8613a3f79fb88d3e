package org.prefscore.executor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * Pulls a partition's rows in chunks, turns each chunk into output rows and hands them out one by
 * one, so a partition is never held in memory whole and model calls see full batches.
 */
public final class Chunks<I, O> implements Iterator<O> {

  private final Iterator<I> input;
  private final int size;
  private final Function<List<I>, List<O>> process;
  private Iterator<O> current = Collections.emptyIterator();

  /**
   * @param input the partition's rows
   * @param size rows per chunk (the last may be smaller)
   * @param process turns one chunk into its output rows
   */
  public Chunks(Iterator<I> input, int size, Function<List<I>, List<O>> process) {
    this.input = input;
    this.size = size;
    this.process = process;
  }

  @Override
  public boolean hasNext() {
    while (!current.hasNext() && input.hasNext()) {
      List<I> chunk = new ArrayList<>(size);
      while (chunk.size() < size && input.hasNext()) {
        chunk.add(input.next());
      }
      current = process.apply(chunk).iterator();
    }
    return current.hasNext();
  }

  @Override
  public O next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    return current.next();
  }
}
