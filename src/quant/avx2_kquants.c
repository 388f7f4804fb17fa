/* cpu_avx2_kquants.c - AVX2 kernels of the k-quants (Q2_K ... Q6_K,
 * IQ4_XS) and their Q8_K activations.
 *
 * Every type decodes a block into one shape, struct kblock: 8 registers of
 * 32 byte-sized quants in weight order (so they meet the activations'
 * bytes as stored), with the int16 scale of each of the 16 pair sums that
 * maddubs makes from a register.  One dot routine then serves all types,
 * and the rows kernels decode a weight block once for several activation
 * rows, which is what makes prefill faster than decoding one token at a
 * time.  Quants are unsigned where maddubs needs them so: Q3_K and Q6_K
 * drop their offsets, which come back as bsums times the scales. */
#include "config.h"

#include <string.h>

#include "quant/avx2.h"

/* Unrolled loops let a decoded block live in registers, not on the stack. */
#define UNROLL _Pragma("GCC unroll 8")

struct kblock {
	__m256i q[8];  /* quants of weights 32k..32k+31: unsigned, or signed values (IQ4_XS) */
	__m256i sc[8]; /* int16 scale of each pair sum of q[k] */
	__m256i bmul;  /* int16 per bsum: the minimum (Q2_K, Q4_K, Q5_K) or offset times scale (Q3_K, Q6_K) */
	float d, dmin; /* the block's scales */
};

/* How a type's bsums term enters the dot product. */
enum bsums_use {
	BSUMS_NONE,     /* IQ4_XS: none */
	BSUMS_MIN,      /* minus dmin * sum(bmul * bsums) */
	BSUMS_OFFSET,   /* minus sum(bmul * bsums), in the integer sum */
};

/* The block's contribution to R activation rows (block i of each, rows
 * stride bytes apart): integer sums per pair, scaled per group, then one
 * float multiply-add per row.  Register k of the weights is used for all
 * R rows before the next, so a decoded block is read once per tile and
 * the R integer sums stay in registers. */
AVX2_INLINE void kblock_dot(const struct kblock *b, const uint8_t *x0, size_t stride, int64_t i, int R,
			      __m256 *acc, enum bsums_use use, int is_signed)
{
	__m256i sum[8];
	UNROLL
	for (int r = 0; r < R; r++)
		sum[r] = _mm256_setzero_si256();
	UNROLL
	for (int k = 0; k < 8; k++) {
		UNROLL
		for (int r = 0; r < R; r++) {
			const struct block_q8_k *x = (const struct block_q8_k *)(x0 + (size_t)r * stride) + i;
			__m256i xk = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * k)), p;
			if (is_signed) /* |x| * (q * sign x): activations are in [-127, 127] */
				p = _mm256_maddubs_epi16(_mm256_sign_epi8(xk, xk), _mm256_sign_epi8(b->q[k], xk));
			else
				p = _mm256_maddubs_epi16(b->q[k], xk);
			sum[r] = _mm256_add_epi32(sum[r], _mm256_madd_epi16(p, b->sc[k]));
			/* Keeps the sums in this order: GCC otherwise rebalances
			 * the additions and spills all 8R products to the stack. */
			if (R > 1)
				__asm__("" : "+x"(sum[r]));
		}
	}
	UNROLL
	for (int r = 0; r < R; r++) {
		const struct block_q8_k *x = (const struct block_q8_k *)(x0 + (size_t)r * stride) + i;
		__m256 dx = _mm256_set1_ps(b->d * x->d);
		if (use == BSUMS_NONE) {
			acc[r] = _mm256_fmadd_ps(dx, _mm256_cvtepi32_ps(sum[r]), acc[r]);
			continue;
		}
		__m256i bs = _mm256_madd_epi16(b->bmul, _mm256_loadu_si256((const __m256i *)x->bsums));
		if (use == BSUMS_OFFSET) {
			acc[r] = _mm256_fmadd_ps(dx, _mm256_cvtepi32_ps(_mm256_sub_epi32(sum[r], bs)), acc[r]);
			continue;
		}
		acc[r] = _mm256_fmadd_ps(dx, _mm256_cvtepi32_ps(sum[r]), acc[r]);
		acc[r] = _mm256_fnmadd_ps(_mm256_set1_ps(b->dmin * x->d), _mm256_cvtepi32_ps(bs), acc[r]);
	}
}

/* The int16 scale vectors of registers 0-7 from 16 int16 scales, one per
 * 16-weight group (register k takes groups 2k and 2k + 1, in its low and
 * high 128-bit lanes): one byte shuffle each, from the scales repeated in
 * both lanes. */
AVX2_INLINE void scales_by16(__m256i s16, struct kblock *b)
{
	__m256i lo = _mm256_permute2x128_si256(s16, s16, 0x00), hi = _mm256_permute2x128_si256(s16, s16, 0x11);
	UNROLL
	for (int k = 0; k < 8; k++) {
		int g = 2 * (k % 4); /* int16 lanes g (low lane) and g + 1 (high lane) */
		__m256i pick = _mm256_setr_epi8(2 * g, 2 * g + 1, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1,
						2 * g, 2 * g + 1, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1,
						2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3, 2 * g + 2,
						2 * g + 3, 2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3, 2 * g + 2, 2 * g + 3,
						2 * g + 2, 2 * g + 3);
		b->sc[k] = _mm256_shuffle_epi8(k < 4 ? lo : hi, pick);
	}
}

/* The same for 8 int16 scales of 32-weight groups, repeated in both lanes
 * of s16: register k takes scale k throughout. */
AVX2_INLINE void scales_by32(__m256i s16, struct kblock *b)
{
	UNROLL
	for (int k = 0; k < 8; k++)
		b->sc[k] = _mm256_shuffle_epi8(s16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * k)));
}

/* Q2_K and Q3_K's 2-bit quants: register 4h + j is bits 2j of qs[32h..]. */
AVX2_INLINE void unpack_2bit(const uint8_t *qs, struct kblock *b)
{
	const __m256i m3 = _mm256_set1_epi8(3);
	UNROLL
	for (int h = 0; h < 2; h++) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * h));
		UNROLL
		for (int j = 0; j < 4; j++)
			b->q[4 * h + j] = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), m3);
	}
}

/* Q4_K and Q5_K's nibbles: registers 2c and 2c + 1 are the low and high
 * nibbles of qs[32c..]. */
AVX2_INLINE void unpack_4bit(const uint8_t *qs, struct kblock *b)
{
	const __m256i m15 = _mm256_set1_epi8(15);
	UNROLL
	for (int c = 0; c < 4; c++) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
		b->q[2 * c] = _mm256_and_si256(v, m15);
		b->q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m15);
	}
}

/* Bit k of each of 32 bytes, moved to bit `to` (k, to < 8). */
AVX2_INLINE __m256i bit_of(__m256i v, int k, int to)
{
	__m256i s = to >= k ? _mm256_slli_epi16(v, to - k) : _mm256_srli_epi16(v, k - to);
	return _mm256_and_si256(s, _mm256_set1_epi8((char)(1 << to)));
}

AVX2_INLINE void q2_k_decode(const struct block_q2_k *a, struct kblock *b)
{
	unpack_2bit(a->qs, b);
	__m128i sm = _mm_loadu_si128((const __m128i *)a->scales);
	scales_by16(_mm256_cvtepu8_epi16(_mm_and_si128(sm, _mm_set1_epi8(15))), b);
	b->bmul = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sm, 4), _mm_set1_epi8(15)));
	b->d = FP16(a->d);
	b->dmin = FP16(a->dmin);
}

/* Q3_K: quants 0..7 (low bits plus 4 for a set hmask bit: bit k of
 * hmask[l] for register k); the -4 comes back through bsums. */
AVX2_INLINE void q3_k_decode(const struct block_q3_k *a, struct kblock *b)
{
	unpack_2bit(a->qs, b);
	__m256i hm = _mm256_loadu_si256((const __m256i *)a->hmask);
	UNROLL
	for (int k = 0; k < 8; k++)
		b->q[k] = _mm256_or_si256(b->q[k], bit_of(hm, k, 2));
	/* 6-bit scales: low nibbles of bytes 0-7 (groups 0-7) and high nibbles
	 * (8-15); top 2 bits of groups 4i..4i+3 at bit 2i of bytes 8-11. */
	uint32_t w[3], s[4];
	memcpy(w, a->scales, sizeof w);
	s[0] = (w[0] & 0x0f0f0f0f) | (w[2] & 0x03030303) << 4;
	s[1] = (w[1] & 0x0f0f0f0f) | (w[2] >> 2 & 0x03030303) << 4;
	s[2] = (w[0] >> 4 & 0x0f0f0f0f) | (w[2] >> 4 & 0x03030303) << 4;
	s[3] = (w[1] >> 4 & 0x0f0f0f0f) | (w[2] >> 6 & 0x03030303) << 4;
	__m256i sc = _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_loadu_si128((const __m128i *)s), _mm_set1_epi8(32)));
	scales_by16(sc, b);
	b->bmul = _mm256_slli_epi16(sc, 2);
	b->d = FP16(a->d);
}

/* Q4_K and Q5_K's eight 6-bit scales and minima (layout in
 * quant_kquants.c).  In 32-bit words A, B, C of the 12 bytes: scales 0-3
 * are A & 63 per byte, 4-7 are C's low nibbles with A's top 2 bits above;
 * minima 0-3 are B & 63, 4-7 C's high nibbles with B's top 2 bits.  The
 * 16 bytes read reach into qs, which follows. */
AVX2_INLINE void k4_scales(const uint8_t *scales, struct kblock *b)
{
	__m128i v = _mm_loadu_si128((const __m128i *)scales);
	__m128i acbc = _mm_srlv_epi32(_mm_shuffle_epi32(v, 0x98), _mm_setr_epi32(0, 0, 0, 4)); /* A C B C>>4 */
	__m128i aabb = _mm_srli_epi32(_mm_shuffle_epi32(v, 0x50), 2);                          /* A A B B, >> 2 */
	__m128i low = _mm_and_si128(acbc, _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
	__m128i top = _mm_and_si128(aabb, _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
	__m128i sm = _mm_or_si128(low, top); /* scales 0-7, minima 0-7 */
	scales_by32(_mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm)), b);
	/* each minimum covers two bsums */
	b->bmul = _mm256_cvtepu8_epi16(
		_mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
}

AVX2_INLINE void q4_k_decode(const struct block_q4_k *a, struct kblock *b)
{
	unpack_4bit(a->qs, b);
	k4_scales(a->scales, b);
	b->d = FP16(a->d);
	b->dmin = FP16(a->dmin);
}

/* Q5_K: the fifth bit of register k is bit k of qh[l]. */
AVX2_INLINE void q5_k_decode(const struct block_q5_k *a, struct kblock *b)
{
	unpack_4bit(a->qs, b);
	__m256i qh = _mm256_loadu_si256((const __m256i *)a->qh);
	UNROLL
	for (int k = 0; k < 8; k++)
		b->q[k] = _mm256_or_si256(b->q[k], bit_of(qh, k, 4));
	k4_scales(a->scales, b);
	b->d = FP16(a->d);
	b->dmin = FP16(a->dmin);
}

/* Q6_K: quants 0..63 (the -32 comes back through bsums); half h's quarter
 * j takes a nibble of ql[64h + 32 (j & 1)..] and bits 2j of qh[32h..]. */
AVX2_INLINE void q6_k_decode(const struct block_q6_k *a, struct kblock *b)
{
	const __m256i m15 = _mm256_set1_epi8(15), m48 = _mm256_set1_epi8(48);
	UNROLL
	for (int h = 0; h < 2; h++) {
		__m256i l0 = _mm256_loadu_si256((const __m256i *)(a->ql + 64 * h));
		__m256i l1 = _mm256_loadu_si256((const __m256i *)(a->ql + 64 * h + 32));
		__m256i hi = _mm256_loadu_si256((const __m256i *)(a->qh + 32 * h));
		b->q[4 * h] = _mm256_or_si256(_mm256_and_si256(l0, m15), _mm256_and_si256(_mm256_slli_epi16(hi, 4), m48));
		b->q[4 * h + 1] =
			_mm256_or_si256(_mm256_and_si256(l1, m15), _mm256_and_si256(_mm256_slli_epi16(hi, 2), m48));
		b->q[4 * h + 2] =
			_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m15), _mm256_and_si256(hi, m48));
		b->q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m15),
						  _mm256_and_si256(_mm256_srli_epi16(hi, 2), m48));
	}
	__m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a->scales));
	scales_by16(sc, b);
	b->bmul = _mm256_slli_epi16(sc, 5);
	b->d = FP16(a->d);
}

/* IQ4_XS: the table's signed values; groups g and g + 1 share 32 qs bytes
 * (16 each), low nibbles being their weights 0-15, high ones 16-31. */
AVX2_INLINE void iq4_xs_decode(const struct block_iq4_xs *a, struct kblock *b)
{
	const __m256i m15 = _mm256_set1_epi8(15);
	const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)quant_iq4nl_values));
	UNROLL
	for (int g = 0; g < 8; g += 2) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(a->qs + 16 * g));
		__m256i lo = _mm256_and_si256(v, m15), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m15);
		b->q[g] = _mm256_shuffle_epi8(table, _mm256_permute2x128_si256(lo, hi, 0x20));
		b->q[g + 1] = _mm256_shuffle_epi8(table, _mm256_permute2x128_si256(lo, hi, 0x31));
	}
	/* scale g: nibble g of scales_l, bits 2g of scales_h above, minus 32 */
	uint32_t sl;
	memcpy(&sl, a->scales_l, sizeof sl);
	__m128i lo = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32((int)sl), _mm_setr_epi32(0, 4, 8, 12)),
				   _mm_set1_epi32(15));
	__m128i lo2 = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32((int)sl), _mm_setr_epi32(16, 20, 24, 28)),
				    _mm_set1_epi32(15));
	__m128i hi = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(a->scales_h), _mm_setr_epi32(0, 2, 4, 6)),
				   _mm_set1_epi32(3));
	__m128i hi2 = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(a->scales_h), _mm_setr_epi32(8, 10, 12, 14)),
				    _mm_set1_epi32(3));
	__m128i s32a = _mm_or_si128(lo, _mm_slli_epi32(hi, 4)), s32b = _mm_or_si128(lo2, _mm_slli_epi32(hi2, 4));
	__m128i s16 = _mm_sub_epi16(_mm_packs_epi32(s32a, s32b), _mm_set1_epi16(32));
	scales_by32(_mm256_broadcastsi128_si256(s16), b);
	b->d = FP16(a->d);
}

/* The kernels of one type.  A tile runs R activation rows (R fixed at
 * compile time, at most 8) along the whole weight row, decoding each block
 * once; vec_dot is the tile of one row, so vec_dot_rows gives exactly its
 * floats whatever the tiling. */
#define K_KERNELS(type, block, decode, use, is_signed)                                                      \
	static __attribute__((noinline)) void type##_decode_to(const struct block *a, struct kblock *b)      \
	{                                                                                                  \
		decode(a, b);                                                                              \
	}                                                                                                  \
	AVX2_INLINE void type##_tile(const void *w, const void *act, size_t stride, int R, int64_t n,       \
				       float *out, size_t out_stride)                                        \
	{                                                                                                  \
		const struct block *a = w;                                                                 \
		__m256 acc[8];                                                                             \
		UNROLL                                                                                     \
		for (int r = 0; r < R; r++)                                                                \
			acc[r] = _mm256_setzero_ps();                                                      \
		for (int64_t i = 0; i < n / QK_K; i++) {                                                   \
			struct kblock b;                                                                   \
			if (R == 1)                                                                        \
				decode(&a[i], &b);                                                         \
			else /* in memory: the compiler then keeps the row sums in registers */            \
				type##_decode_to(&a[i], &b);                                               \
			kblock_dot(&b, act, stride, i, R, acc, use, is_signed);                            \
		}                                                                                          \
		UNROLL                                                                                     \
		for (int r = 0; r < R; r++)                                                                \
			out[(size_t)r * out_stride] = hsum_ps(acc[r]);                                     \
	}                                                                                                  \
	static float type##_vec_dot(const void *w, const void *act, int64_t n)                               \
	{                                                                                                  \
		float out;                                                                                 \
		type##_tile(w, act, 0, 1, n, &out, 1);                                                     \
		return out;                                                                                \
	}                                                                                                  \
	static void type##_vec_dot_rows(const void *w, const void *act, size_t stride, int n_rows, int64_t n, \
					float *out, size_t out_stride)                                     \
	{                                                                                                  \
		const uint8_t *x = act;                                                                    \
		int r = 0;                                                                                 \
		for (; r + 8 <= n_rows; r += 8)                                                            \
			type##_tile(w, x + (size_t)r * stride, stride, 8, n, out + (size_t)r * out_stride,  \
				    out_stride);                                                           \
		x += (size_t)r * stride;                                                                   \
		out += (size_t)r * out_stride;                                                             \
		switch (n_rows - r) {                                                                      \
		case 7: type##_tile(w, x, stride, 7, n, out, out_stride); break;                           \
		case 6: type##_tile(w, x, stride, 6, n, out, out_stride); break;                           \
		case 5: type##_tile(w, x, stride, 5, n, out, out_stride); break;                           \
		case 4: type##_tile(w, x, stride, 4, n, out, out_stride); break;                           \
		case 3: type##_tile(w, x, stride, 3, n, out, out_stride); break;                           \
		case 2: type##_tile(w, x, stride, 2, n, out, out_stride); break;                           \
		case 1: type##_tile(w, x, stride, 1, n, out, out_stride); break;                           \
		}                                                                                          \
	}

K_KERNELS(q2_k, block_q2_k, q2_k_decode, BSUMS_MIN, 0)
K_KERNELS(q3_k, block_q3_k, q3_k_decode, BSUMS_OFFSET, 0)
K_KERNELS(q4_k, block_q4_k, q4_k_decode, BSUMS_MIN, 0)
K_KERNELS(q5_k, block_q5_k, q5_k_decode, BSUMS_MIN, 0)
K_KERNELS(q6_k, block_q6_k, q6_k_decode, BSUMS_OFFSET, 0)
K_KERNELS(iq4_xs, block_iq4_xs, iq4_xs_decode, BSUMS_NONE, 1)

/* Q8_K activations, byte for byte as the scalar reference makes them: the
 * same float scale and products, converted with the same rounding (to
 * nearest even), and bsums from the quants. */
static void q8_k_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q8_k *b = dst;
	const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		__m256 m = _mm256_setzero_ps();
		for (int j = 0; j < QK_K; j += 8)
			m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask));
		float amax = hmax_ps(m);
		if (amax == 0) {
			memset(b, 0, sizeof *b);
			continue;
		}
		/* the first value of that magnitude gives the sign, as in the scalar loop */
		__m256 va = _mm256_set1_ps(amax);
		int j = 0;
		for (;; j += 8) {
			int hit = _mm256_movemask_ps(
				_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask), va, _CMP_EQ_OQ));
			if (hit) {
				j += __builtin_ctz((unsigned)hit);
				break;
			}
		}
		float iscale = -127.0f / x[j];
		__m256 vs = _mm256_set1_ps(iscale);
		const __m256i ones = _mm256_set1_epi8(1);
		for (int k = 0; k < QK_K; k += 32) {
			__m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(x + k)));
			__m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(x + k + 8)));
			__m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(x + k + 16)));
			__m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(x + k + 24)));
			__m256i q = pack_epi32_epi8(q0, q1, q2, q3);
			_mm256_storeu_si256((__m256i *)(b->qs + k), q);
			/* pair sums, then sums of 8 pairs per 16-byte half */
			__m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, q), _mm256_set1_epi16(1));
			__m128i s4 = _mm_hadd_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
			s4 = _mm_hadd_epi32(s4, s4);
			b->bsums[k / 16] = (int16_t)_mm_cvtsi128_si32(s4);
			b->bsums[k / 16 + 1] = (int16_t)_mm_extract_epi32(s4, 1);
		}
		b->d = 1 / iscale;
	}
}

void quant_register_avx2_kquants(struct quant_kernels *k)
{
	k->from_float[GGML_TYPE_Q8_K] = q8_k_from_float;
	k->vec_dot[GGML_TYPE_Q2_K] = q2_k_vec_dot;
	k->vec_dot_rows[GGML_TYPE_Q2_K] = q2_k_vec_dot_rows;
	k->vec_dot[GGML_TYPE_Q3_K] = q3_k_vec_dot;
	k->vec_dot_rows[GGML_TYPE_Q3_K] = q3_k_vec_dot_rows;
	k->vec_dot[GGML_TYPE_Q4_K] = q4_k_vec_dot;
	k->vec_dot_rows[GGML_TYPE_Q4_K] = q4_k_vec_dot_rows;
	k->vec_dot[GGML_TYPE_Q5_K] = q5_k_vec_dot;
	k->vec_dot_rows[GGML_TYPE_Q5_K] = q5_k_vec_dot_rows;
	k->vec_dot[GGML_TYPE_Q6_K] = q6_k_vec_dot;
	k->vec_dot_rows[GGML_TYPE_Q6_K] = q6_k_vec_dot_rows;
	k->vec_dot[GGML_TYPE_IQ4_XS] = iq4_xs_vec_dot;
	k->vec_dot_rows[GGML_TYPE_IQ4_XS] = iq4_xs_vec_dot_rows;
}
