export {
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
  allow,
  reviewResponse,
} from './review.ts';
export { reviewVip, type SubnetLookup } from './vip.ts';
