// The adversarial suites' own directory and route map (policy variables, condition keys from the
// query and headers, a source-address condition): see the comments in fixtures/directory.yaml.
import { fileURLToPath } from 'node:url';

export const ADVERSARIAL_FIXTURES = {
  directory: fileURLToPath(new URL('../fixtures/directory.yaml', import.meta.url)),
  routes: fileURLToPath(new URL('../fixtures/routes.yaml', import.meta.url)),
};
