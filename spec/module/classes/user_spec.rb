# frozen_string_literal: true

require_relative '../spec_helper'

describe 'autoami::user' do
  # Private: tested through the class, as users declare it.
  let(:pre_condition) { "class { 'autoami': #{params_for_autoami.map { |k, v| "#{k} => #{v}" }.join(', ')} }" }
  let(:params_for_autoami) { {} }

  context 'with defaults' do
    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_group('autoami').with(ensure: 'present', system: true) }

    it 'creates a system user without a login, also in the puppet group' do
      is_expected.to contain_user('autoami').with(
        ensure: 'present', system: true, gid: 'autoami', groups: ['puppet'], membership: 'minimum',
        home: '/var/lib/autoami', managehome: false, shell: '/usr/sbin/nologin',
      ).that_requires('Group[autoami]')
    end

    it 'exists before the files it owns' do
      is_expected.to contain_user('autoami').that_comes_before("File[#{Puppet[:confdir]}/autoami.dbpass]")
    end
  end

  context 'with another user, group and puppet group' do
    let(:params_for_autoami) { { user: "'bakery'", group: "'bakers'", puppet_group: "'pe-puppet'", state_dir: "'/srv/bakery'" } }

    it { is_expected.to contain_group('bakers') }
    it { is_expected.to contain_user('bakery').with(gid: 'bakers', groups: ['pe-puppet'], home: '/srv/bakery') }
  end

  context 'with manage_user off' do
    let(:params_for_autoami) { { manage_user: false } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_user('autoami') }
    it { is_expected.not_to contain_group('autoami') }
  end
end
