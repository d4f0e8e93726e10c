import { BadRequestException, Injectable, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { findForbiddenKey } from '@parley/contracts';

/**
 * Validation of every REST body and query: unknown fields are refused, query strings become numbers, and keys
 * such as `__proto__` are refused like any other unknown field.
 */
@Injectable()
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const key = findForbiddenKey(value);
    if (key) throw new BadRequestException([`property ${key} should not exist`]);
    return super.transform(value, metadata);
  }
}
