/**
 * Parameters for the NHS.UK pagination component: previous and next links plus numbered pages
 * around the current one, with ellipses for gaps. Filters are kept in every link.
 */
export interface PaginationParams {
  previous?: { href: string };
  next?: { href: string };
  items: ({ number: number; href: string; current: boolean } | { ellipsis: true })[];
}

export function buildPagination(
  path: string,
  filters: Record<string, string | number | undefined>,
  page: number,
  pageCount: number,
): PaginationParams | undefined {
  if (pageCount <= 1) return undefined;
  const href = (target: number) => buildPageHref(path, filters, target);
  const shown = new Set(
    [1, pageCount, page - 1, page, page + 1].filter((n) => n >= 1 && n <= pageCount),
  );
  const numbers = [...shown].sort((a, b) => a - b);
  const items: PaginationParams['items'] = [];
  numbers.forEach((number, index) => {
    const previousNumber = numbers[index - 1];
    if (previousNumber !== undefined && number - previousNumber > 1) items.push({ ellipsis: true });
    items.push({ number, href: href(number), current: number === page });
  });
  return {
    previous: page > 1 && page <= pageCount ? { href: href(page - 1) } : undefined,
    next: page < pageCount ? { href: href(page + 1) } : undefined,
    items,
  };
}

/** The address of one page of a filtered list; page 1 has no page parameter. */
export function buildPageHref(
  path: string,
  filters: Record<string, string | number | undefined>,
  page: number,
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  if (page > 1) params.set('page', String(page));
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}
