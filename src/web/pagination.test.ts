import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildPageHref, buildPagination, type PaginationParams } from './pagination.ts';

/** The page numbers and gaps of a pagination, written compactly: [1, '…', 4, 5, 6, '…', 10]. */
function shape(pagination: PaginationParams | undefined): (number | '…')[] {
  return (pagination?.items ?? []).map((item) => ('ellipsis' in item ? '…' : item.number));
}

describe('buildPageHref', () => {
  it('gives the bare path for page 1 without filters', () => {
    expect(buildPageHref('/organisations', {}, 1)).toBe('/organisations');
  });

  it('adds the page parameter from page 2', () => {
    expect(buildPageHref('/organisations', {}, 2)).toBe('/organisations?page=2');
  });

  it('keeps filters, in order, with the page last', () => {
    expect(buildPageHref('/organisations', { type: 'gp_practice', parent: '03W' }, 3)).toBe(
      '/organisations?type=gp_practice&parent=03W&page=3',
    );
  });

  it('keeps filters but no page parameter on page 1', () => {
    expect(buildPageHref('/organisations', { type: 'pcn' }, 1)).toBe('/organisations?type=pcn');
  });

  it('encodes filter values so that spaces, ampersands and equals signs survive', () => {
    const href = buildPageHref('/organisations', { q: "st john's & co = 1/2" }, 2);
    expect(href).toBe('/organisations?q=st+john%27s+%26+co+%3D+1%2F2&page=2');
    expect(new URL(href, 'http://localhost').searchParams.get('q')).toBe("st john's & co = 1/2");
  });

  it('leaves out filters that are undefined or blank, and writes numbers as text', () => {
    expect(buildPageHref('/x', { q: undefined, type: '', decile: 3 }, 1)).toBe('/x?decile=3');
  });

  it('round-trips any filters and page through the query string (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.stringMatching(/^[a-z][a-z_]{0,9}$/).filter((key) => key !== 'page'),
          fc.string({ minLength: 1, maxLength: 20 }),
        ),
        fc.integer({ min: 1, max: 10_000 }),
        (filters, page) => {
          const url = new URL(buildPageHref('/list', filters, page), 'http://localhost');
          expect(url.pathname).toBe('/list');
          const params = Object.fromEntries(url.searchParams);
          const { page: pageParam, ...rest } = params;
          expect(rest).toEqual(filters);
          expect(pageParam).toBe(page === 1 ? undefined : String(page));
        },
      ),
    );
  });
});

describe('buildPagination', () => {
  it.each([0, 1])('shows no pagination when there are %i pages', (pageCount) => {
    expect(buildPagination('/organisations', { q: 'x' }, 1, pageCount)).toBeUndefined();
  });

  it('shows both pages, a next link and no previous link on page 1 of 2', () => {
    expect(buildPagination('/organisations', {}, 1, 2)).toEqual({
      previous: undefined,
      next: { href: '/organisations?page=2' },
      items: [
        { number: 1, href: '/organisations', current: true },
        { number: 2, href: '/organisations?page=2', current: false },
      ],
    });
  });

  it('links page 2 of 2 back to the bare path and has no next link', () => {
    const pagination = buildPagination('/organisations', {}, 2, 2);
    expect(pagination?.previous).toEqual({ href: '/organisations' });
    expect(pagination?.next).toBeUndefined();
  });

  it('shows the first, last and neighbouring pages with gaps in the middle of a long list', () => {
    const pagination = buildPagination('/organisations', {}, 5, 10);
    expect(shape(pagination)).toEqual([1, '…', 4, 5, 6, '…', 10]);
    expect(pagination?.previous).toEqual({ href: '/organisations?page=4' });
    expect(pagination?.next).toEqual({ href: '/organisations?page=6' });
  });

  it('shows no gap where the neighbouring pages meet the first page', () => {
    expect(shape(buildPagination('/x', {}, 1, 10))).toEqual([1, 2, '…', 10]);
    expect(shape(buildPagination('/x', {}, 3, 10))).toEqual([1, 2, 3, 4, '…', 10]);
  });

  it('shows no gap where the neighbouring pages meet the last page', () => {
    expect(shape(buildPagination('/x', {}, 10, 10))).toEqual([1, '…', 9, 10]);
    expect(shape(buildPagination('/x', {}, 8, 10))).toEqual([1, '…', 7, 8, 9, 10]);
  });

  it('marks only the current page as current', () => {
    const items = buildPagination('/x', {}, 4, 7)!.items;
    const current = items.filter((item) => 'current' in item && item.current);
    expect(current).toEqual([{ number: 4, href: '/x?page=4', current: true }]);
  });

  it('keeps the filters in every link', () => {
    const pagination = buildPagination('/organisations', { q: 'blaby pcn', type: 'pcn' }, 2, 3)!;
    const hrefs = [
      pagination.previous!.href,
      pagination.next!.href,
      ...pagination.items.flatMap((item) => ('href' in item ? [item.href] : [])),
    ];
    for (const href of hrefs) expect(href).toMatch(/^\/organisations\?q=blaby\+pcn&type=pcn/);
    expect(pagination.previous!.href).toBe('/organisations?q=blaby+pcn&type=pcn');
    expect(pagination.next!.href).toBe('/organisations?q=blaby+pcn&type=pcn&page=3');
  });

  it('offers neither previous nor next for a page past the end, only a way back to real pages', () => {
    const pagination = buildPagination('/x', {}, 12, 10);
    expect(pagination?.previous).toBeUndefined();
    expect(pagination?.next).toBeUndefined();
    expect(shape(pagination)).toEqual([1, '…', 10]);
    expect(pagination?.items.some((item) => 'current' in item && item.current)).toBe(false);
  });

  it('is consistent for every page of every length (property)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 500 })
          .chain((pageCount) =>
            fc.tuple(fc.constant(pageCount), fc.integer({ min: 1, max: pageCount })),
          ),
        ([pageCount, page]) => {
          const pagination = buildPagination('/x', { q: 'a b' }, page, pageCount)!;
          const numbers = shape(pagination).filter((item): item is number => item !== '…');

          expect(numbers[0]).toBe(1);
          expect(numbers.at(-1)).toBe(pageCount);
          expect(numbers).toContain(page);
          // Strictly increasing page numbers, with an ellipsis exactly where a number is skipped.
          pagination.items.forEach((item, index) => {
            const previousItem = pagination.items[index - 1];
            const nextItem = pagination.items[index + 1];
            if ('ellipsis' in item) {
              expect(previousItem && 'number' in previousItem).toBe(true);
              expect(nextItem && 'number' in nextItem).toBe(true);
              if (previousItem && 'number' in previousItem && nextItem && 'number' in nextItem) {
                expect(nextItem.number - previousItem.number).toBeGreaterThan(1);
              }
            } else if (previousItem && 'number' in previousItem) {
              expect(item.number - previousItem.number).toBe(1);
            }
          });
          for (const item of pagination.items) {
            if ('number' in item) {
              expect(item.current).toBe(item.number === page);
              expect(item.href).toBe(buildPageHref('/x', { q: 'a b' }, item.number));
            }
          }
          expect(pagination.previous?.href).toBe(
            page > 1 ? buildPageHref('/x', { q: 'a b' }, page - 1) : undefined,
          );
          expect(pagination.next?.href).toBe(
            page < pageCount ? buildPageHref('/x', { q: 'a b' }, page + 1) : undefined,
          );
          // Never more than first, last, the current page, its neighbours and two gaps.
          expect(pagination.items.length).toBeLessThanOrEqual(7);
        },
      ),
    );
  });
});
