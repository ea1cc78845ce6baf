// Request targets that normalisation changes, for the modes where the raw target reaches the upstream.

/** Targets whose normalised path (`/public/x` or `/public/x/`) differs from the raw one. */
export const NON_CANONICAL = [
  '/admin//../public/x',
  '/admin/../public/x',
  '/admin/%2e%2e/public/x',
  '/admin/%2E%2E/public/x',
  '/admin/.%2e/public/x',
  '/admin/%2e./public/x',
  '/public//x',
  '//public/x',
  '/public/./x',
  '/public/%2e/x',
  '/public/x/.',
  '/public/x/./',
  '/public/x//',
  '/public/%78',
] as const;
