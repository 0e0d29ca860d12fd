# frozen_string_literal: true

require 'digest/sha1'
require_relative '../spec_helper'

describe 'autoami::db' do
  # Private: tested through the class, as users declare it.
  let(:pre_condition) { "class { 'autoami': #{params_for_autoami.map { |k, v| "#{k} => #{v}" }.join(', ')} }" }
  let(:password) { 'autoamipassword' }
  # What mysql::password() computes: MySQL's PASSWORD() (mysql_native_password).
  let(:password_hash) { "*#{Digest::SHA1.hexdigest(Digest::SHA1.digest(password)).upcase}" }

  # Every string in the catalogue outside Sensitive parameters.
  def clear_text_of_catalogue(except: [])
    catalogue.resources.reject { |resource| except.include?(resource.ref) }.flat_map do |resource|
      resource.to_hash.reject { |name, _| resource.sensitive_parameters.include?(name) }.values.map(&:to_s) + [resource.title]
    end.join("\n")
  end

  context 'with manage_db off' do
    let(:params_for_autoami) { { db_user: "'autoami'", db_password: "'#{password}'" } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_mysql__db('autoami') }
    it { is_expected.not_to contain_class('mysql::client') }
    it { is_expected.not_to contain_mysql_user('autoami@localhost') }
  end

  {
    # A plain String stays, as given, among the class's own parameters in the catalogue.
    'a plain String' => [->(pw) { "'#{pw}'" }, ['Class[Autoami]']],
    'a Sensitive' => [->(pw) { "Sensitive('#{pw}')" }, []],
  }.each do |kind, (puppet_value, holders)|
    context "with manage_db on and the password as #{kind}" do
      let(:params_for_autoami) { { manage_db: true, db_user: "'autoami'", db_password: puppet_value.call(password), db_name: "'autoami'" } }

      it { is_expected.to compile.with_all_deps }

      it 'declares mysql::db with the user, its grant and the hashed password' do
        is_expected.to contain_mysql__db('autoami').with(
          user: 'autoami',
          password: password_hash,
          host: 'localhost',
          grant: ['ALL'],
          charset: 'utf8mb4',
          collate: 'utf8mb4_unicode_ci',
        )
      end

      it { is_expected.to contain_mysql_database('autoami').with(ensure: 'present', charset: 'utf8mb4') }
      it { is_expected.to contain_mysql_user('autoami@localhost').with(ensure: 'present', password_hash: password_hash) }

      it 'grants ALL on the database only' do
        is_expected.to contain_mysql_grant('autoami@localhost/autoami.*').with(
          privileges: ['ALL'], table: 'autoami.*', user: 'autoami@localhost',
        )
      end

      it { is_expected.to contain_class('mysql::client') }

      it 'runs no schema SQL and drops nothing' do
        is_expected.not_to contain_exec('autoami-import')
        expect(catalogue.resources.select { |r| r.type.start_with?('Mysql') }.map { |r| r[:ensure] }.compact.uniq).to eq(['present'])
      end

      it "keeps the clear password out of the catalogue#{holders.empty? ? '' : " beyond #{holders.join(', ')}"}" do
        expect(clear_text_of_catalogue(except: holders)).not_to include(password)
      end
    end
  end

  {
    'the default db_host' => [{}, 'localhost'],
    'db_host 127.0.0.1' => [{ db_host: "'127.0.0.1'" }, '127.0.0.1'],
    'a remote db_host' => [{ db_host: "'db.example.com'" }, 'db.example.com'],
    'db_socket' => [{ db_host: "'127.0.0.1'", db_socket: "'/run/mysqld/mysqld.sock'" }, 'localhost'],
    'db_grant_host' => [{ db_host: "'db.example.com'", db_grant_host: "'%'" }, '%'],
  }.each do |what, (extra, grant_host)|
    context "with #{what}" do
      let(:params_for_autoami) { { manage_db: true, db_user: "'aa'", db_password: "'pw'", db_name: "'aa_db'" }.merge(extra) }

      it { is_expected.to compile.with_all_deps }
      it { is_expected.to contain_mysql__db('aa_db').with_host(grant_host).with_user('aa') }
      it { is_expected.to contain_mysql_user("aa@#{grant_host}") }
      it { is_expected.to contain_mysql_grant("aa@#{grant_host}/aa_db.*") }
    end
  end

  context 'with db_charset and db_collate' do
    let(:params_for_autoami) { { manage_db: true, db_user: "'aa'", db_password: "'pw'", db_charset: "'utf8'", db_collate: "'utf8_general_ci'" } }

    it { is_expected.to contain_mysql_database('autoami').with(charset: 'utf8', collate: 'utf8_general_ci') }
  end

  context 'with a password that already is a MySQL hash' do
    let(:params_for_autoami) { { manage_db: true, db_user: "'aa'", db_password: "Sensitive('*#{'A' * 40}')" } }

    it 'passes it through as mysql::db would' do
      is_expected.to contain_mysql_user('aa@localhost').with_password_hash("*#{'A' * 40}")
    end
  end
end
