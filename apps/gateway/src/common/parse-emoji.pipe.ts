import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { Limits } from '@parley/contracts';

/**
 * A reaction's emoji from the path (Express has decoded it): 1–32 UTF-16 code units of text Postgres stores as
 * given (no NUL, no unpaired surrogates), as the socket's `react` checks it, else 400 in class-validator's words.
 */
@Injectable()
export class ParseEmojiPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (value.length < 1) throw new BadRequestException('emoji must be longer than or equal to 1 characters');
    if (value.length > Limits.emojiMaxLength) {
      throw new BadRequestException(
        `emoji must be shorter than or equal to ${Limits.emojiMaxLength} characters`,
      );
    }
    if (!value.isWellFormed() || value.includes('\u0000')) {
      throw new BadRequestException('emoji must be valid text (no NUL characters or unpaired surrogates)');
    }
    return value;
  }
}
